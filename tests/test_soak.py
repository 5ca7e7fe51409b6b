"""The soak, short: the whole local pipeline under a few faults at once, and exact totals.

benchmarks/soak.py at a small rate for ninety seconds, with the lander, the archiver and dbt
killed (SIGKILL) mid-run, PutRecords throttled, a schema-drifted producer, poison records, a
replay of an earlier window while the stream goes on and a corrected settlement export over its
key. Nothing may be lost or counted twice, fct_donations must equal the simulator's oracle to
the cent and every minute must reconcile. No time is asserted: freshness is the benchmark's.
"""

from __future__ import annotations

from benchmarks.soak import Injection, Soak
from ingestion.config.settings import Settings

FAULTS = [
    Injection("lander SIGKILL", 25, 0),
    Injection("30% of PutRecords throttled 1 min", 30, 15),
    Injection("dbt SIGKILL mid-build", 35, 0),
    Injection("archiver SIGKILL", 40, 0),
    Injection("poison records", 45, 0),
    Injection("schema-drifted producer 1 min", 45, 20),
    Injection("corrected export re-dropped", 55, 0),
    Injection("replay of an earlier window", 60, 0),
    Injection("lander SIGKILL", 70, 0),
]


def test_a_short_soak_under_faults_loses_nothing_and_counts_nothing_twice(
    provisioned: Settings,
) -> None:
    result = Soak(
        provisioned, rate=40, duration=90, seed=3, injections=FAULTS, refresh_interval=20
    ).run()

    assert result.produced > 3_000
    # Every record the producer made was accepted (the throttled ones on a retry), landed once
    # and archived, but the poison it refuses to send (over the record limit, a repeated key),
    # which it dead-letters: four classes of the corpus, put once.
    assert result.refused == 4
    assert result.accepted + result.refused == result.produced
    assert (result.landed, result.archived) == (result.accepted, result.accepted)
    assert (result.lost, result.counted_twice) == (0, 0)
    assert result.marts_equal_oracle, result.notes
    assert result.reconcile_failures == []
    # The corrected export replaced its first version whole, and said so once.
    assert (result.settlement_ok, result.corrected_alerts) == (True, 1)
    # The faults really happened: each killed process was restarted, one build was killed.
    assert result.restarts.get("lander", 0) >= 2
    assert result.restarts.get("archiver", 0) >= 1
    assert result.failed_refreshes >= 1

"""Proof that the replay path agrees with the stream: the archive, replayed through the backfill
landing, gives the same marts as streaming, alone or together, any number of times."""

from __future__ import annotations

from pathlib import Path

from ingestion.config.settings import Settings
from ingestion.demo.report import compare_donations, read_donations
from ingestion.demo.simulator.truth import expected_outcome
from ingestion.replay.loads import replay
from tests.support import (
    archive,
    archived_lines,
    build,
    corpus,
    in_warehouse,
    land,
    marts,
    publish,
    query,
    window_around_now,
)


def test_stream_only_replay_only_and_both_give_identical_marts(
    provisioned: Settings, tmp_path: Path
) -> None:
    records = corpus(seed=41)
    publish(provisioned, records)
    assert archive(provisioned) == len(records)
    window = window_around_now()

    streamed = in_warehouse(provisioned, tmp_path / "stream.duckdb")
    land(streamed)
    build(streamed)

    replayed = in_warehouse(provisioned, tmp_path / "replay.duckdb")
    report = replay(replayed, window)
    assert report.loaded == len(records)

    # Replay first, then the stream lands the same records: both copies of every record.
    both = in_warehouse(provisioned, tmp_path / "both.duckdb")
    replay(both, window)
    land(both)
    build(both)

    expected = marts(streamed)
    assert expected["fct_donations"] and expected["quarantined_events"]
    assert marts(replayed) == expected
    assert marts(both) == expected
    assert query(both, "select count(*) from lander.backfill_records") == [(len(records),)]
    # The earliest landed copy of a position is kept (the replay's here), so a published row's
    # metadata never changes when a second copy lands.
    assert query(both, "select landed_by, count(*) from landing.landed_records group by 1") == [
        ("replay", len(records))
    ]


def test_replaying_the_same_window_five_times_changes_nothing(provisioned: Settings) -> None:
    records = corpus(seed=42)
    publish(provisioned, records)
    archive(provisioned)
    window = window_around_now()

    first = replay(provisioned, window)
    assert first.loaded == len(records)
    after_one = marts(provisioned)
    quarantined = len(after_one["quarantined_events"])
    assert quarantined > 0

    for _ in range(4):
        again = replay(provisioned, window)
        assert again.loaded == 0
        assert again.manifest_url == first.manifest_url
    assert marts(provisioned) == after_one
    assert query(provisioned, "select count(*) from lander.backfill_records") == [(len(records),)]
    # Contract violations were quarantined once, not once per replay.
    assert query(provisioned, "select count(*) from ops.quarantined_events") == [(quarantined,)]


def test_a_window_missed_by_landing_then_replayed_matches_the_archive_to_the_cent(
    provisioned: Settings,
) -> None:
    before_outage, during_outage = corpus(seed=43), corpus(seed=44)
    publish(provisioned, before_outage)
    archive(provisioned)
    land(provisioned)
    build(provisioned)

    # Landing is down; producers keep sending and the archive keeps copying.
    publish(provisioned, during_outage)
    archive(provisioned)
    build(provisioned)
    assert (
        compare_donations(archive_truth(provisioned), read_donations(provisioned.warehouse_path)).ok
        is False
    )

    replay(provisioned, window_around_now())
    comparison = compare_donations(
        archive_truth(provisioned), read_donations(provisioned.warehouse_path)
    )
    assert comparison.ok, comparison

    # Landing comes back and lands the window the replay already filled: nothing changes.
    settled = marts(provisioned)
    assert land(provisioned) == len(during_outage)
    build(provisioned)
    assert marts(provisioned) == settled


def archive_truth(settings: Settings) -> dict[str, tuple[int, int, int]]:
    """Gross, refunded and net per gift, by the contract's identity rules over the archive."""
    ordered = sorted(
        archived_lines(settings), key=lambda line: (line["shard_id"], int(line["sequence_number"]))
    )
    expected = expected_outcome(line["kinesis_data"].encode() for line in ordered)
    return expected.donation_amounts()

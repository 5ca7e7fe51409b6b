"""The whole local path on its real parts: producer → moto's Kinesis → lander → DuckDB → dbt.

A generated corpus with every fault the sources produce goes through in two batches (a full
build, then an incremental one), and the marts must equal, to the cent, what the contract's
identity rules say — computed independently by the simulator's truth oracle.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import validate_record
from ingestion.demo.report import compare_donations, read_counts, read_donations
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.demo.simulator.truth import Expected, expected_outcome
from ingestion.landing.lander import StreamLander
from ingestion.operations.quality import run_data_quality_tests
from ingestion.produce.publish import publish_records

# Faults well above their production defaults, so a small corpus holds many of each.
FAULTS = FaultRates(
    redelivery=0.03,
    resend_new_event_id=0.02,
    out_of_order=0.05,
    late=0.01,
    refund_before_gift=0.01,
    malformed=0.01,
    schema_drift=0.03,
)


@pytest.fixture(scope="module")
def corpus() -> list[bytes]:
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    records = Simulator(seed=20261124, start=start, faults=FAULTS).generate(steady("campaign", 4))
    return [r.data for r in records]


def _load(settings: Settings, records: list[bytes]) -> None:
    from ingestion.contract import partition_key

    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]
    StreamLander(settings, aws.client("kinesis", settings)).land_once()
    dbt.build_streaming_models(settings)


def test_marts_equal_the_contract_truth_after_a_full_and_an_incremental_build(
    provisioned: Settings, corpus: list[bytes]
) -> None:
    half = len(corpus) // 2
    _load(provisioned, corpus[:half])
    first = compare_donations(
        expected_outcome(corpus[:half]).donation_amounts(),
        read_donations(provisioned.warehouse_path),
    )
    assert first.ok, first

    _load(provisioned, corpus[half:])

    expected = expected_outcome(corpus)
    counts = read_counts(provisioned.warehouse_path)
    comparison = compare_donations(
        expected.donation_amounts(), read_donations(provisioned.warehouse_path)
    )
    assert comparison.ok, comparison
    assert counts.landed == expected.records == len(corpus)
    assert counts.quarantined == expected.quarantined_records > 0
    assert counts.distinct_events == expected.distinct_event_ids
    assert counts.valid_records - counts.distinct_events == expected.duplicate_deliveries > 0
    assert expected.business_duplicates > 0
    assert dict(counts.net_cents_by_campaign) == {
        campaign: (gifts, net) for campaign, (gifts, net) in _by_campaign(expected).items()
    }

    # A full rebuild from the same landed records gives the same marts.
    before = read_donations(provisioned.warehouse_path)
    dbt.run_dbt(provisioned, ["build", "--select", "stream_events+", "--full-refresh"])
    assert read_donations(provisioned.warehouse_path) == before

    # The whole-table tests and the unit tests the minute's build leaves out, as the data-quality
    # DAG (and CI) run them: every one passes on the corpus.
    assert run_data_quality_tests(provisioned, unit_tests=True).nodes > 70


def _by_campaign(expected: Expected) -> dict[str, tuple[int, int]]:
    totals: dict[str, tuple[int, int]] = {}
    for d in expected.donations.values():
        gifts, net = totals.get(d.campaign_id, (0, 0))
        totals[d.campaign_id] = (gifts + 1, net + d.net_amount_cents)
    return dict(sorted(totals.items()))


def test_the_warehouse_and_the_producers_validator_agree_on_every_record(
    provisioned: Settings, corpus: list[bytes]
) -> None:
    _load(provisioned, corpus)

    with warehouse.connect(provisioned.warehouse_path) as con:
        rows = con.execute(
            "select landed.kinesis_data, records.quarantine_reason"
            " from staging.stg_stream__records as records"
            " join landing.landed_records as landed using (shard_id, sequence_number)"
        ).fetchall()

    disagreements = []
    reasons = Counter()
    for text, sql_reason in rows:
        python_reasons = [v.reason for v in validate_record(text.encode())]
        reasons[sql_reason.split(":")[0] if sql_reason else "valid"] += 1
        if (sql_reason is None) != (not python_reasons) or (
            sql_reason is not None and sql_reason != python_reasons[0]
        ):
            disagreements.append((text[:120], sql_reason, python_reasons))
    assert disagreements == []
    # The corpus exercised most kinds of violation, not just one.
    assert len([r for r in reasons if r != "valid"]) >= 6, reasons


def test_refund_landing_before_its_gift_is_applied_when_the_gift_arrives(
    provisioned: Settings,
) -> None:
    start = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    faults = replace(FaultRates(), refund_before_gift=0.2, redelivery=0.0)
    records = [
        r.data for r in Simulator(seed=5, start=start, faults=faults).generate(steady("normal", 2))
    ]
    # Land only up to the last refund-first refund whose gift has not arrived yet, then the rest.
    expected_first = expected_outcome(records[: len(records) // 3])
    _load(provisioned, records[: len(records) // 3])
    assert compare_donations(
        expected_first.donation_amounts(), read_donations(provisioned.warehouse_path)
    ).ok
    _load(provisioned, records[len(records) // 3 :])
    expected = expected_outcome(records)
    assert any(d.refunded_amount_cents for d in expected.donations.values())
    comparison = compare_donations(
        expected.donation_amounts(), read_donations(provisioned.warehouse_path)
    )
    assert comparison.ok, comparison

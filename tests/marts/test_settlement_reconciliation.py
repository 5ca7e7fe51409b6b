"""Settlement reconciliation at the processor's grain, on the real path: exports dropped in the
test bucket and loaded by the batch load, events streamed and landed, the minute's build.

Statuses, legs and the export's own date deciding a version are docs/analysts.md's; the
simulated export (ingestion/demo/simulator/settlements.py) says which status each leg must get.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.batch.loads import load_batches
from ingestion.config import dbt
from ingestion.config.settings import Settings
from ingestion.demo.simulator.settlements import COLUMNS
from ingestion.demo.simulator.truth import expected_outcome
from tests.contract.test_contract import example
from tests.marts.support import corpus, drop, drop_settlement_export
from tests.support import build, land, publish, query


def _stream(settings: Settings, records: list[bytes]) -> None:
    publish(settings, records)
    land(settings)


def _legs(settings: Settings) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    rows = query(
        settings,
        """
        select processor, processor_txn_id, settlement_type, reconciliation_status,
            settlement_gross_cents, donation_gross_cents, export_as_of_date, donation_id
        from marts.rpt_settlement_reconciliation
        """,
    )
    return {(row[0], row[1], row[2]): row[3:] for row in rows}


def _export(rows: list[tuple[str, str, int, int, str]]) -> str:
    """A settlement export of (processor, txn, gross, fee, settled_at) rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for processor, txn, gross, fee, settled_at in rows:
        writer.writerow((processor, txn, gross, fee, gross - fee, f"po-{processor}", settled_at))
    return out.getvalue()


def test_the_demo_export_reconciles_leg_by_leg_with_refunds_apart_and_the_newest_gifts_pending(
    provisioned: Settings,
) -> None:
    records = corpus()
    _stream(provisioned, records)
    export = drop_settlement_export(provisioned, records)
    load_batches(provisioned, ["settlements"])
    build(provisioned)

    legs = _legs(provisioned)
    assert Counter(row[0] for row in legs.values()) == export.expected_statuses
    assert {"pending", "matched", "missing_in_settlement"} <= set(export.expected_statuses)
    # A refund in the export is a leg of its own, matched against the gift's refund entries.
    refunds = {key: row for key, row in legs.items() if key[2] == "refund" and row[1] is not None}
    assert refunds, "the export settles refunds"
    assert all(row[0] == "matched" and row[1] == row[2] < 0 for row in refunds.values())
    for processor, txn, _ in refunds:
        assert legs[(processor, txn, "charge")][1] > 0
    # Pending legs are not breaks: the daily close counts them apart.
    [(unreconciled, pending)] = query(
        provisioned,
        "select sum(unreconciled_count), sum(pending_count) from marts.rpt_daily_close",
    )
    assert pending == export.expected_statuses["pending"]
    assert unreconciled == sum(
        count
        for status, count in export.expected_statuses.items()
        if status not in {"matched", "pending"}
    )


def test_an_older_export_loaded_after_a_newer_correction_does_not_override_it(
    provisioned: Settings,
) -> None:
    records = corpus()
    _stream(provisioned, records)
    gifts = sorted(expected_outcome(records).donations.values(), key=lambda d: d.donated_at)
    gift = gifts[0]
    settled = (gift.donated_at + timedelta(days=2)).isoformat()
    original = _export(
        [
            (
                gift.processor,
                gift.processor_txn_id,
                gift.gross_amount_cents - 100,
                gift.fee_cents,
                settled,
            )
        ]
    )
    corrected = _export(
        [(gift.processor, gift.processor_txn_id, gift.gross_amount_cents, gift.fee_cents, settled)]
    )
    key = (gift.processor, gift.processor_txn_id, "charge")

    # The correction (dated the 23rd) is loaded first; the original (the 22nd) is re-dropped
    # and loaded a day later. Each is loaded and built in its own pass.
    drop(provisioned, "landing/settlements/2026-11-23.csv", corrected)
    load_batches(provisioned, ["settlements"])
    build(provisioned)
    assert _legs(provisioned)[key][:2] == ("matched", gift.gross_amount_cents)
    drop(provisioned, "landing/settlements/late/2026-11-22.csv", original)
    load_batches(provisioned, ["settlements"])
    build(provisioned)

    status, settled_gross, _, as_of, _ = _legs(provisioned)[key][:5]
    assert (status, settled_gross) == ("matched", gift.gross_amount_cents)
    assert str(as_of) == "2026-11-23"
    loaded = query(provisioned, "select count(*) from lander.processor_settlements")
    assert loaded == [(2,)]

    # A full build from the landing agrees: the file's date decides, never the load order.
    incremental = _legs(provisioned)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _legs(provisioned) == incremental


def test_a_gift_inside_the_cutoff_is_pending_and_missing_once_a_later_export_passes_it(
    provisioned: Settings,
) -> None:
    records = corpus()
    _stream(provisioned, records)
    gifts = sorted(expected_outcome(records).donations.values(), key=lambda d: d.donated_at)
    stripe = [g for g in gifts if g.processor == "stripe"]
    oldest, newest = stripe[0], stripe[-1]
    # The export settles the oldest stripe gift 2 days (its delay) after it: every later stripe
    # gift is inside the cutoff.
    drop(
        provisioned,
        "landing/settlements/2026-11-22.csv",
        _export(
            [
                (
                    "stripe",
                    oldest.processor_txn_id,
                    oldest.gross_amount_cents,
                    oldest.fee_cents,
                    (oldest.donated_at + timedelta(days=2)).isoformat(),
                )
            ]
        ),
    )
    load_batches(provisioned, ["settlements"])
    build(provisioned)
    legs = _legs(provisioned)
    assert legs[("stripe", oldest.processor_txn_id, "charge")][0] == "matched"
    assert legs[("stripe", newest.processor_txn_id, "charge")][0] == "pending"
    assert {legs[("stripe", g.processor_txn_id, "charge")][0] for g in stripe[1:]} == {"pending"}

    # A later export settles only an unmatched transaction, a week on: the cutoff passes every
    # gift, so what it did not settle is missing now.
    drop(
        provisioned,
        "landing/settlements/2026-11-29.csv",
        _export(
            [("stripe", "ch_other", 900, 30, (newest.donated_at + timedelta(days=7)).isoformat())]
        ),
    )
    load_batches(provisioned, ["settlements"])
    build(provisioned)
    legs = _legs(provisioned)
    assert {legs[("stripe", g.processor_txn_id, "charge")][0] for g in stripe[1:]} == {
        "missing_in_settlement"
    }
    assert legs[("stripe", "ch_other", "charge")][0] == "missing_in_donations"


def _gift(donation_id: str, txn: str) -> bytes:
    event = example("donation.completed")
    now = datetime.now(UTC).isoformat(timespec="milliseconds")
    event.update(event_id=str(uuid.uuid4()), occurred_at=now, emitted_at=now)
    event["payload"].update(donation_id=donation_id, processor="stripe", processor_txn_id=txn)
    return json.dumps(event).encode()


def test_two_gifts_naming_one_processor_transaction_get_a_status_and_the_build_passes(
    provisioned: Settings,
) -> None:
    _stream(provisioned, [_gift("don-a", "ch_shared"), _gift("don-b", "ch_shared")])

    # With the data-quality run's whole-table tests too: run_dbt raises on any failed node.
    dbt.run_dbt(
        provisioned,
        ["build", "--select", "@stream_events", "--vars", '{"data_quality": true}'],
    )

    [row] = [row for key, row in _legs(provisioned).items() if key[1] == "ch_shared"]
    assert row[0] == "duplicate_processor_txn"
    assert row[4] == "don-a"
    [(count,)] = query(
        provisioned,
        "select donation_count from marts.rpt_settlement_reconciliation "
        "where processor_txn_id = 'ch_shared'",
    )
    assert count == 2

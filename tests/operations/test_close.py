"""The period close on the real path: a day's figures frozen once; a late event, a late
settlement or a corrected settlement export afterwards is a dated adjustment naming its cause
(the event, or the export's key and row) and an alert naming the day and amount, never a
rewrite."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from typer.testing import CliRunner

from ingestion.batch.loads import load_batches
from ingestion.cli import app
from ingestion.config import aws, dbt
from ingestion.config.settings import Settings
from ingestion.operations.alerts import read_alerts
from ingestion.operations.close import CloseRefused, close, revisions
from tests.contract.test_contract import example
from tests.operations.test_reconcile_and_trace import _env
from tests.support import build, corpus, land, publish, query

DAY = date(2026, 11, 20)
OLD_CLOSED_DAYS_COLUMNS = (
    "close_date date not null, revision integer not null, entry_kind varchar(16) not null, "
    "recorded_at timestamp not null, gift_count bigint not null, refund_count bigint not null, "
    "gross_amount_cents bigint not null, refunded_amount_cents bigint not null, "
    "fee_cents bigint not null, net_amount_cents bigint not null, "
    "settled_net_cents bigint not null, unreconciled_count bigint, pending_count bigint, "
    "ledger_batch bigint, cause_count bigint, caused_by varchar(65535), invocation_id varchar(64)"
)


def _late_gift(amount_cents: int) -> tuple[str, bytes]:
    """A gift made on DAY that arrives now."""
    event = example("donation.completed")
    event_id = str(uuid.uuid4())
    event.update(
        event_id=event_id,
        occurred_at="2026-11-20T23:59:00.000Z",
        emitted_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
    )
    event["payload"].update(
        donation_id=f"don-late-{event_id[:8]}",
        processor_txn_id=f"ch_late_{event_id[:8]}",
        amount_cents=amount_cents,
    )
    return event_id, json.dumps(event).encode()


def _daily(settings: Settings) -> tuple[int, int, int]:
    [row] = query(
        settings,
        "select gift_count, gross_amount_cents, net_amount_cents from marts.rpt_daily_close "
        f"where close_date = '{DAY}'",
    )
    return row


def test_a_late_event_after_the_close_is_an_adjustment_with_its_event_and_an_alert(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=15, seconds=1))
    land(provisioned)
    build(provisioned)
    gifts, gross, net = _daily(provisioned)

    assert close(provisioned, DAY) == []
    [frozen] = revisions(provisioned, DAY)
    assert (frozen.revision, frozen.entry_kind) == (0, "close")
    assert (frozen.gift_count, frozen.gross_amount_cents, frozen.net_amount_cents) == (
        gifts,
        gross,
        net,
    )
    # Closing again, or recording adjustments when nothing moved, writes nothing.
    assert close(provisioned, DAY) == []
    assert close(provisioned) == []
    assert revisions(provisioned, DAY) == [frozen]

    event_id, late = _late_gift(4321)
    publish(provisioned, [late])
    land(provisioned)
    build(provisioned)
    assert _daily(provisioned) == (gifts + 1, gross + 4321, net + 4321)
    [adjustment] = close(provisioned)

    assert (adjustment.revision, adjustment.entry_kind) == (1, "adjustment")
    assert (adjustment.gift_count, adjustment.gross_amount_cents) == (1, 4321)
    assert adjustment.net_amount_cents == 4321
    assert adjustment.caused_by is not None and f"gift:{event_id}" in adjustment.caused_by
    # The close itself is untouched; close plus adjustments is the live figure.
    day = revisions(provisioned, DAY)
    assert day == [frozen, adjustment]
    assert sum(r.net_amount_cents for r in day) == _daily(provisioned)[2]
    [alert] = read_alerts(provisioned)
    assert str(DAY) in alert["summary"] and "+43.21 $" in alert["summary"]
    assert alert["runbook"] == "closed-day-adjusted"
    assert close(provisioned) == []

    # A full refresh rebuilds every model; the closed days are no model, so they stay.
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert revisions(provisioned, DAY) == day


def test_a_day_not_over_is_refused_and_the_cli_closes_a_past_one(provisioned: Settings) -> None:
    publish(provisioned, corpus(seed=16, seconds=1))
    land(provisioned)
    build(provisioned)
    with pytest.raises(CloseRefused, match="not over yet"):
        close(provisioned, datetime.now(UTC).date())

    result = CliRunner().invoke(app, ["close", "--date", str(DAY)], env=_env(provisioned))

    assert result.exit_code == 0, result.output
    assert "0 adjustment(s)" in result.output
    assert [r.entry_kind for r in revisions(provisioned, DAY)] == ["close"]
    refused = CliRunner().invoke(app, ["close", "--date", "2026-02-30"], env=_env(provisioned))
    assert refused.exit_code != 0


def _drop_settlements(settings: Settings, name: str, rows: list[tuple[str, int, str]]) -> str:
    """A processor's settlement export of (processor_txn_id, net_cents, settled_at) rows, each a
    charge of net + 100 cents with a 100-cent fee, loaded as `accfb load-batch` does."""
    lines = ["processor,processor_txn_id,gross_cents,fee_cents,net_cents,payout_id,settled_at"]
    lines += [f"stripe,{txn},{net + 100},100,{net},po_late,{at}" for txn, net, at in rows]
    key = f"landing/settlements/{name}"
    aws.client("s3", settings).put_object(
        Bucket=settings.raw_bucket, Key=key, Body=("\n".join(lines) + "\n").encode()
    )
    load_batches(settings, ["settlements"])
    build(settings)
    [(source_key,)] = query(
        settings,
        "select distinct source_key from lander.batch_export_ledger "
        f"where source_key like '%{name}'",
    )
    return str(source_key)


def _row_of(settings: Settings, txn: str) -> int:
    [(row,)] = query(
        settings,
        "select source_row_number from staging.stg_processor__settlements "
        f"where processor_txn_id = '{txn}'",
    )
    return int(row)


def test_a_late_settlement_of_a_closed_day_is_an_adjustment_naming_its_export_row(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=17, seconds=1))
    land(provisioned)
    build(provisioned)
    # A warehouse closed before revisions recorded their settlement load: the close adds it.
    query(provisioned, f"create table marts.rpt_closed_days ({OLD_CLOSED_DAYS_COLUMNS})")
    close(provisioned, DAY)
    [(recorded,)] = query(
        provisioned,
        f"select settlement_load_seq from marts.rpt_closed_days where close_date = '{DAY}'",
    )
    assert recorded == 0

    key = _drop_settlements(
        provisioned, "late-2026-11-20.csv", [("ch_late_settled", 2400, "2026-11-20T21:00:00Z")]
    )
    [adjustment] = close(provisioned)

    assert (adjustment.revision, adjustment.settled_net_cents) == (1, 2400)
    assert adjustment.net_amount_cents == 0
    row = _row_of(provisioned, "ch_late_settled")
    assert (adjustment.caused_by, adjustment.cause_count) == (f"settlement:{key}#{row}", 1)


def test_a_same_key_correction_of_a_closed_day_is_an_adjustment_naming_the_correction(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=18, seconds=1))
    land(provisioned)
    build(provisioned)
    name = "2026-11-20.csv"
    at = "2026-11-20T21:00:00Z"
    key = _drop_settlements(
        provisioned,
        name,
        [("ch_fix_lower", 10000, at), ("ch_fix_gone", 5000, at), ("ch_fix_move", 3000, at)],
    )
    close(provisioned, DAY)
    [frozen] = revisions(provisioned, DAY)

    # The processor re-drops the same file: one leg 100 cents lower, one withdrawn, one settled
    # the next day.
    _drop_settlements(
        provisioned,
        name,
        [("ch_fix_lower", 9900, at), ("ch_fix_move", 3000, "2026-11-21T01:00:00Z")],
    )
    [adjustment] = close(provisioned)

    assert adjustment.settled_net_cents == -100 - 5000 - 3000
    [(load_seq,)] = query(
        provisioned,
        "select max(load_seq) from lander.batch_export_ledger "
        f"where source_key = '{key}' and outcome = 'corrected'",
    )
    causes = set((adjustment.caused_by or "").split(","))
    assert f"settlement:{key}#{_row_of(provisioned, 'ch_fix_lower')}" in causes
    assert f"settlement:{key}@{load_seq}" in causes
    assert (
        frozen.settled_net_cents + adjustment.settled_net_cents
        == query(
            provisioned,
            f"select settled_net_cents from marts.rpt_daily_close where close_date = '{DAY}'",
        )[0][0]
    )


def test_a_correction_with_its_header_only_of_a_closed_day_is_an_adjustment_naming_it(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=20, seconds=1))
    land(provisioned)
    build(provisioned)
    name = "2026-11-20.csv"
    at = "2026-11-20T21:00:00Z"
    key = _drop_settlements(provisioned, name, [("ch_all_a", 4000, at), ("ch_all_b", 2000, at)])
    close(provisioned, DAY)

    # The processor re-drops the file with every leg withdrawn: its header alone.
    _drop_settlements(provisioned, name, [])
    [adjustment] = close(provisioned)

    assert adjustment.settled_net_cents == -6000
    [(load_seq,)] = query(
        provisioned,
        "select load_seq from lander.batch_export_ledger "
        f"where source_key = '{key}' and outcome = 'corrected'",
    )
    assert (adjustment.caused_by, adjustment.cause_count) == (f"settlement:{key}@{load_seq}", 1)


def test_a_gift_a_resend_moves_off_a_closed_day_is_an_adjustment_naming_the_batches(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=19, seconds=1))
    _, gift = _late_gift(777)
    publish(provisioned, [gift])
    land(provisioned)
    build(provisioned)
    close(provisioned, DAY)
    [(batch_before,)] = query(provisioned, "select max(landed_batch) from marts.fct_donations")

    # The same gift re-sent under a new event_id, emitted earlier (so it wins), made the next day.
    resend = json.loads(gift)
    resend.update(
        event_id=str(uuid.uuid4()),
        occurred_at="2026-11-21T00:30:00.000Z",
        emitted_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="milliseconds"),
    )
    publish(provisioned, [json.dumps(resend).encode()])
    land(provisioned)
    build(provisioned)
    [adjustment] = close(provisioned)

    assert (adjustment.gift_count, adjustment.gross_amount_cents) == (-1, -777)
    [(batch_after,)] = query(provisioned, "select max(landed_batch) from marts.fct_donations")
    assert batch_after > batch_before
    assert adjustment.caused_by is not None and adjustment.caused_by.startswith("batches:")
    first, last = (int(b) for b in adjustment.caused_by.removeprefix("batches:").split("-"))
    assert first <= batch_after <= last

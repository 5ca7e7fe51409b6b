"""The simulated settlement export settles each gift at most once, with its breaks, by contract."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from jsonschema import Draft202012Validator

from ingestion.contract import SCHEMA_DIR
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.demo.simulator.settlements import (
    NOT_YET_SETTLED,
    UNMATCHED_SETTLEMENTS,
    settlement_export,
)
from ingestion.demo.simulator.truth import expected_outcome

INTEGER_COLUMNS = ("gross_cents", "fee_cents", "net_cents")


def test_every_gift_gets_one_outcome_and_every_row_is_a_contract_settlement_row() -> None:
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    records = Simulator(seed=11, start=start, faults=FaultRates()).generate(steady("normal", 2))
    donations = expected_outcome(r.data for r in records).donations

    export = settlement_export(donations.values())

    rows = list(csv.DictReader(io.StringIO(export.csv)))
    statuses = export.expected_statuses
    refunded = sum(1 for d in donations.values() if d.refunded_amount_cents)
    unsettled = statuses["missing_in_settlement"] + statuses["pending"]
    assert sum(statuses.values()) == len(donations) + refunded + UNMATCHED_SETTLEMENTS
    assert len(rows) == len(donations) + refunded - unsettled + UNMATCHED_SETTLEMENTS
    assert min(statuses.values()) > 0 and len(statuses) == 5, statuses
    assert statuses["pending"] >= 2 * NOT_YET_SETTLED  # the newest gifts of both processors
    # One row per settlement leg: a refund (negative gross) apart from its charge.
    legs = {(r["processor"], r["processor_txn_id"], int(r["gross_cents"]) < 0) for r in rows}
    assert len(legs) == len(rows)
    assert any(int(r["gross_cents"]) < 0 for r in rows)
    schema = json.loads((SCHEMA_DIR / "batch" / "settlement_row.v1.json").read_text())
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for row in rows:
        typed = {k: int(v) if k in INTEGER_COLUMNS else v for k, v in row.items()}
        assert list(validator.iter_errors(typed)) == [], row
        assert datetime.fromisoformat(row["settled_at"]).utcoffset() is not None


def test_the_same_gifts_give_the_same_export() -> None:
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    records = [r.data for r in Simulator(seed=11, start=start).generate(steady("normal", 1))]
    donations = list(expected_outcome(records).donations.values())

    assert settlement_export(donations) == settlement_export(donations[::-1])

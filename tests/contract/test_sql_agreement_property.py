"""Property: the producers' validator and the warehouse's give the same verdict and the same first
reason on any record, valid or mutated (issue 12).

Hypothesis draws records from valid events of every type, then mutates them the ways sources and
attackers do: a field deleted, retyped or replaced by an arbitrary JSON value, numbers at and
past their column's limits, timestamps from a calendar's edges, occurred_at either side of its
window, repeated keys, the record's text cut or spliced. The SQL side is the real staging model
(`stg_stream__records`) compiled by dbt for DuckDB, run in process over each drawn batch, so the
verdicts compared are the ones `dbt build` records in ops.quarantined_events.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.config import dbt
from ingestion.config.settings import Settings
from ingestion.contract import validate_record
from ingestion.contract.limits import MAX_INTEGER, MAX_POUNDS, MAX_RECORD_BYTES
from tests.contract.test_contract import EVENT_TYPES, example, schema_fields, schema_for

pytestmark = pytest.mark.pipeline

EXAMPLES = 100
RECORDS_PER_EXAMPLE = 100  # 10,000 records in all
ARRIVAL = datetime(2026, 3, 2, 17, 5, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def staging_sql(tmp_path_factory: pytest.TempPathFactory) -> str:
    """stg_stream__records compiled for DuckDB (a first build: not incremental), reading a
    table of drawn records in place of the landing."""
    root = tmp_path_factory.mktemp("agreement")
    settings = Settings(state_dir=root / "state", warehouse_path=root / "warehouse.duckdb")
    dbt.run_dbt(settings, ["compile", "--select", "stg_stream__records"])
    compiled = next(settings.dbt_target_dir.rglob("stg_stream__records.sql")).read_text()
    sql, replaced = re.subn(r'"[^"]+"\."landing"\."landed_records"', "drawn_records", compiled)
    assert replaced == 1, compiled[:400]
    return sql


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    connection.execute(
        """
        create table drawn_records (
            approximate_arrival_timestamp timestamptz, partition_key varchar,
            shard_id varchar, sequence_number varchar, refresh_time timestamptz,
            kinesis_data varchar, landed_by varchar, landed_batch bigint
        )
        """
    )
    yield connection
    connection.close()


# --- the strategies ------------------------------------------------------------------------

FIELDS = {t: [(path, spec) for path, spec in schema_fields(schema_for(t))] for t in EVENT_TYPES}

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)

edge_integers = st.sampled_from(
    [0, -1, 1, MAX_INTEGER, MAX_INTEGER + 1, 2**63 - 1, 2**63, 2**64, 2**127, -(2**63) - 1]
)
edge_pounds = st.sampled_from(
    [0, 0.0005, -0.0005, 1e-300, MAX_POUNDS, MAX_POUNDS + 1, -MAX_POUNDS, -MAX_POUNDS - 0.5, 1e300]
)


@st.composite
def calendar_text(draw: st.DrawFn) -> str:
    """Timestamps and dates near the calendar's edges, well-formed or nearly so."""
    year = draw(st.sampled_from([0, 1, 400, 1900, 1999, 2000, 2024, 2026, 2100, 9999]))
    month = draw(st.integers(0, 13))
    day = draw(st.sampled_from([0, 1, 28, 29, 30, 31, 32]))
    hour = draw(st.sampled_from([0, 9, 23, 24]))
    minute = draw(st.sampled_from([0, 59, 60]))
    second = draw(st.sampled_from([0, 59, 60]))
    fraction = draw(st.sampled_from(["", ".5", ".123456", ".1234567", "."]))
    separator = draw(st.sampled_from(["T", "t", " "]))
    zone = draw(st.sampled_from(["Z", "z", "+00:00", "-08:00", "+23:59", "+24:00", "", "+0800"]))
    date_part = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        return date_part
    return f"{date_part}{separator}{hour:02d}:{minute:02d}:{second:02d}{fraction}{zone}"


@st.composite
def near_arrival(draw: st.DrawFn) -> str:
    """occurred_at either side of the window's edges, in several offsets."""
    anchor = draw(
        st.sampled_from([ARRIVAL + timedelta(minutes=5), datetime(2000, 1, 1, tzinfo=UTC), ARRIVAL])
    )
    moved = anchor + timedelta(microseconds=draw(st.sampled_from([-1, 0, 1, 10**6, -(10**6)])))
    zone = draw(st.sampled_from([UTC, datetime.strptime("-0800", "%z").tzinfo]))
    return moved.astimezone(zone).isoformat()


def _set(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    target: Any = event
    for parent in parents:
        if not isinstance(target, dict):
            return
        target = target.get(parent)
    if isinstance(target, dict):
        target[last] = value


def _delete(event: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    target: Any = event
    for parent in parents:
        if not isinstance(target, dict):
            return
        target = target.get(parent)
    if isinstance(target, dict):
        target.pop(last, None)


def _repeat_key(text: str, key: str, value: Any) -> str:
    """The record's text with ``"key": value`` added again at the start of the object that
    already holds key (a repeat JSON allows textually and dict cannot hold)."""
    marker = f'"{key}": '
    at = text.find(marker)
    if at < 0:
        return text
    opening = text.rfind("{", 0, at)
    return text[: opening + 1] + f"{marker}{json.dumps(value)}, " + text[opening + 1 :]


@st.composite
def records(draw: st.DrawFn) -> str:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    event = example(event_type)
    event["occurred_at"] = "2026-03-02T09:04:05.123-08:00"
    path, spec = draw(st.sampled_from(FIELDS[event_type]))
    mutation = draw(
        st.sampled_from(
            [
                "valid", "delete", "any_value", "edge_number", "calendar", "window",
                "repeat_key", "cut", "splice", "event_type", "version", "text_number",
                "size", "control",
            ]
        )
    )  # fmt: skip
    if mutation == "delete":
        _delete(event, path)
    elif mutation == "any_value":
        _set(event, path, draw(json_values))
    elif mutation == "edge_number":
        _set(event, path, draw(edge_integers if spec["type"] == "integer" else edge_pounds))
    elif mutation == "calendar":
        _set(event, path, draw(calendar_text()))
    elif mutation == "window":
        event["occurred_at"] = draw(near_arrival())
    elif mutation == "event_type":
        event["event_type"] = draw(st.sampled_from([*EVENT_TYPES, "donation.pledged", ""]))
    elif mutation == "version":
        event["schema_version"] = draw(st.one_of(edge_integers, json_values))
    elif mutation == "control" and spec["type"] == "string":
        # C0 controls and DEL are refused in identifiers; C1 controls and U+2028 are not.
        character = draw(
            st.sampled_from(["\x00", "\t", "\n", "\r", "\x1f", "\x7f", "\x80", "\u2028"])
        )
        _set(event, path, draw(st.text(max_size=3)) + character + draw(st.text(max_size=3)))
    text = json.dumps(event, ensure_ascii=draw(st.booleans()))
    if mutation == "repeat_key":
        text = _repeat_key(text, path.split(".")[-1], draw(json_scalars))
    elif mutation == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif mutation == "splice":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(min_size=1, max_size=3)) + text[at:]
    elif mutation == "size":
        # Padded to within two bytes of the one record limit, either side of it.
        target = MAX_RECORD_BYTES + draw(st.integers(-2, 2))
        head = text[:-1] + ', "pad": "'
        text = head + "n" * (target - len(head.encode()) - 2) + '"}'
    elif mutation == "text_number":
        # Numbers as JSON text Python would not write itself: exponents, huge, negative zero.
        number = draw(st.sampled_from(["1e2", "1E400", "-0", "5.0", "9" * 500, "-1e-400", "0.1e1"]))
        text = re.sub(
            r'("amount_cents": |"lbs": |"households_served": )[-0-9.e]+', rf"\g<1>{number}", text
        )
    return text


# --- the property --------------------------------------------------------------------------


def _python_reason(text: str) -> str | None:
    violations = validate_record(text, arrived_at=ARRIVAL)
    return violations[0].reason if violations else None


def _sql_reasons(con: duckdb.DuckDBPyConnection, sql: str, texts: list[str]) -> list[str | None]:
    con.execute("delete from drawn_records")
    con.executemany(
        "insert into drawn_records values (?, 'pk', 'shardId-000000000000', ?, ?, ?, 'stream', 1)",
        [(ARRIVAL, f"{i:064d}", ARRIVAL, text) for i, text in enumerate(texts)],
    )
    rows = con.execute(f"select sequence_number, quarantine_reason from ({sql})").fetchall()
    by_position = dict(rows)
    return [by_position[f"{i:064d}"] for i in range(len(texts))]


def test_python_and_sql_give_the_same_verdict_and_first_reason_on_10000_records(
    con: duckdb.DuckDBPyConnection, staging_sql: str
) -> None:
    seen: list[str] = []
    verdicts: dict[str, int] = {}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.lists(records(), min_size=RECORDS_PER_EXAMPLE, max_size=RECORDS_PER_EXAMPLE))
    def agree(texts: list[str]) -> None:
        seen.extend(texts)
        sql = _sql_reasons(con, staging_sql, texts)
        python = [_python_reason(t) for t in texts]
        for text, sql_reason, python_reason in zip(texts, sql, python, strict=True):
            verdicts[(python_reason or "valid").split(":")[0]] = (
                verdicts.get((python_reason or "valid").split(":")[0], 0) + 1
            )
            assert sql_reason == python_reason, text

    agree()
    assert len(seen) >= EXAMPLES * RECORDS_PER_EXAMPLE == 10_000, len(seen)
    # Every kind of verdict was drawn, valid records included, not just one kind.
    assert {
        "valid", "wrong_type", "missing_field", "out_of_range", "invalid_format",
        "invalid_json", "duplicate_key", "unknown_event_type", "invalid_value", "too_large",
    } <= set(verdicts), verdicts  # fmt: skip

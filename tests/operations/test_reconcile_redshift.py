"""Reconcile and trace on a Redshift target: read-only SQL parsed with sqlglot's Redshift dialect,
the backfill DAG's reconcile step running there (a failure, never a skip), and a target that
cannot be reached saying so in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from ingestion.operations import reconcile, trace
from tests.cli.support import accfb, deployed_env

PARAMS = {
    "start": "'2026-11-20 17:00:00+00'",
    "end": "'2026-11-20 18:00:00+00'",
    "all": "false",
    "sources": "',donation_platform,crm,'",
}


def _parsed(sql: str, *values: str) -> exp.Expression:
    for value in values:
        sql = sql.replace("%s", value, 1)
    assert "%s" not in sql
    return sqlglot.parse_one(sql, read="redshift")


def _tables(tree: exp.Expression) -> set[str]:
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    return {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.name not in ctes}


@pytest.mark.parametrize(
    ("sql", "values", "reads"),
    [
        (
            reconcile.REDSHIFT_LANDED_BY_TYPE,
            ("start", "end", "all", "sources"),
            {"landing.landed_records"},
        ),
        (reconcile.REDSHIFT_QUARANTINED, ("start", "end"), {"ops.quarantined_events"}),
        (
            reconcile.REDSHIFT_CURATED_GIFTS,
            ("start", "end"),
            {"landing.landed_records", "marts.fct_donations"},
        ),
    ],
)
def test_each_redshift_query_is_one_select_over_the_window(
    sql: str, values: tuple[str, ...], reads: set[str]
) -> None:
    tree = _parsed(sql, *(PARAMS[v] for v in values))

    assert isinstance(tree, exp.Select)
    assert _tables(tree) == reads
    # Read only: nothing in it writes.
    assert not list(tree.find_all(exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Merge))
    where = " ".join(w.sql(dialect="redshift") for w in tree.find_all(exp.Where))
    assert PARAMS["start"] in where and PARAMS["end"] in where
    # Half open, as every window: [start, end).
    assert ">= " + PARAMS["start"] in where and "< " + PARAMS["end"] in where


def test_the_landed_counts_group_by_event_type_and_sum_only_integer_amounts() -> None:
    tree = _parsed(
        reconcile.REDSHIFT_LANDED_BY_TYPE,
        *(PARAMS[v] for v in ("start", "end", "all", "sources")),
    )

    assert [g.sql() for g in tree.args["group"].expressions] == ["1"]
    total = tree.find(exp.Sum)
    assert total is not None
    guard = total.sql(dialect="redshift")
    assert "IS_INTEGER(amount)" in guard
    assert "'donation.completed'" in guard and "'donation.refunded'" in guard


def test_reconcile_on_a_deployed_target_without_aws_says_so_in_one_line(tmp_path: Path) -> None:
    result = accfb(
        "reconcile",
        "--start",
        "2026-11-20T17:00:00Z",
        "--end",
        "2026-11-20T18:00:00Z",
        env=deployed_env(tmp_path),
    )

    assert result.returncode == 1
    first, hint = result.stderr.strip().splitlines()
    assert first == (
        "accfb: error: no AWS credentials: the target is AWS (ACCFB_AWS_ENDPOINT_URL is unset)"
    )
    assert hint.startswith("hint: log in to AWS")
    assert not (tmp_path / "state" / "warehouse.duckdb").exists()


def test_the_gift_trace_on_redshift_reads_the_tables_of_the_local_trace_for_one_gift() -> None:
    tree = _parsed(trace.REDSHIFT_RECORDS, "'don-1'")

    assert isinstance(tree, exp.Select)
    assert _tables(tree) == {
        "landing.landed_records",
        "staging.stg_stream__events",
        "ops.quarantined_events",
        "marts.fct_donations",
        "staging.stg_donation_platform__refunds",
        "lander.backfill_records",
    }
    assert not list(tree.find_all(exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Merge))
    # One bound donation_id, narrowing the landing (the only unbounded read) itself.
    (landed,) = [c for c in tree.find_all(exp.CTE) if c.alias == "landed"]
    where = landed.this.args["where"].sql(dialect="redshift")
    assert "'don-1'" in where and "donation_id" in where
    # What the verdicts and the archive lookup read, under the local query's names.
    assert set(tree.named_selects) >= {
        "shard_id",
        "sequence_number",
        "approximate_arrival_timestamp",
        "landed_by",
        "event_id",
        "event_type",
        "quarantine_reason",
        "first_shard_id",
        "first_sequence_number",
        "winning_event_id",
        "refund_id",
        "replayed_from",
        "record_source",
    }


def test_trace_on_a_deployed_target_without_aws_says_so_in_one_line(tmp_path: Path) -> None:
    result = accfb("trace", "don-1", env=deployed_env(tmp_path))

    assert result.returncode == 1
    first, hint = result.stderr.strip().splitlines()
    assert first == (
        "accfb: error: no AWS credentials: the target is AWS (ACCFB_AWS_ENDPOINT_URL is unset)"
    )
    assert hint.startswith("hint: log in to AWS")
    assert not (tmp_path / "state" / "warehouse.duckdb").exists()


def test_a_figure_trace_on_redshift_says_it_cannot_run_there(tmp_path: Path) -> None:
    result = accfb("trace", "--closed-day", "2026-11-20", env=deployed_env(tmp_path))

    assert result.returncode == 1
    first, _hint = result.stderr.strip().splitlines()
    assert first.startswith("accfb: error: accfb trace --campaign/--closed-day reads the local")
    assert not (tmp_path / "state" / "warehouse.duckdb").exists()

"""Per-node dbt results of each refresh: kept in a real DuckDB warehouse, replaced per refresh,
bounded to the newest refreshes; the Redshift statements parsed as Redshift reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from ingestion.config import dbt, warehouse
from ingestion.config.dbt import NodeRun
from ingestion.config.settings import Settings
from ingestion.operations import node_results, refresh

RUNS = (
    NodeRun("model.accfb.fct_donations", "success", 1.25),
    NodeRun("test.accfb.unique_fct_donations_donation_id.1a2b", "fail", 0.5),
)


def _local(tmp_path: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", warehouse_path=tmp_path / "warehouse.duckdb")


def _rows(settings: Settings) -> list[tuple[object, ...]]:
    with warehouse.connect(settings.warehouse_path) as con:
        return con.execute(
            """
            select invocation_id, node_name, resource_type, status, execution_seconds
            from ops.dbt_node_results order by invocation_id, node_name
            """
        ).fetchall()


def test_a_refresh_recorded_again_replaces_its_rows(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    built = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)

    node_results.record(settings, "first", built, RUNS)
    # An Airflow retry of the same invocation, or the same run recorded after a failure.
    node_results.record(settings, "first", built, RUNS[:1])

    assert _rows(settings) == [("first", "fct_donations", "model", "success", 1.25)]


def test_only_the_newest_refreshes_are_kept(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    start = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    extra = 3
    # Held open as dbt holds it in the minute's process: each record reuses the open database.
    with warehouse.connect(settings.warehouse_path):
        for minute in range(node_results.KEPT_REFRESHES + extra):
            at = start + timedelta(minutes=minute)
            node_results.record(settings, f"{minute:04d}", at, RUNS)

    kept = {invocation for invocation, *_ in _rows(settings)}
    assert len(kept) == node_results.KEPT_REFRESHES
    assert min(kept) == f"{extra:04d}"
    assert len(_rows(settings)) == node_results.KEPT_REFRESHES * len(RUNS)


def test_nothing_built_records_nothing(tmp_path: Path) -> None:
    settings = _local(tmp_path)
    assert node_results.record(settings, "idle", datetime.now(UTC), ()) == 0
    assert not settings.warehouse_path.exists()


def test_the_redshift_statements_parse_and_prune_by_the_newest_refreshes() -> None:
    for sql in (node_results.CREATE_SQL, node_results.DELETE_SQL, node_results.PRUNE_SQL):
        sqlglot.parse_one(sql.replace("%s", "'x'"), read="redshift")
    inserted = sqlglot.parse_one(
        node_results.redshift_insert_sql(2).replace("%s", "'x'"), read="redshift"
    )
    values = inserted.find(exp.Values)
    assert values is not None and len(values.expressions) == 2
    assert all(len(row.expressions) == 8 for row in values.expressions)
    prune = sqlglot.parse_one(node_results.PRUNE_SQL, read="redshift")
    kept = prune.find(exp.Subquery)
    assert kept is not None
    newest = kept.find(exp.Select, bfs=False)
    inner = [s for s in prune.find_all(exp.Select) if s.args.get("limit")]
    assert len(inner) == 1 and newest is not None
    assert inner[0].args["limit"].expression.name == str(node_results.KEPT_REFRESHES)
    (order,) = inner[0].args["order"].expressions
    assert order.args.get("desc") is True
    grant = sqlglot.parse_one(node_results.GRANT_SQL, read="redshift")
    assert "accfb_operations" in grant.sql(dialect="redshift")


def _failed_minute(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs a minute whose build fails, and checks the minute fails with that build's error."""
    failed = dbt.DbtError("build", "fct_donations: boom", invocation_id="broken", node_runs=RUNS)

    def build(_: Settings) -> dbt.DbtResult:
        raise failed

    monkeypatch.setattr(refresh, "land", lambda _: 0)
    monkeypatch.setattr(dbt, "build_streaming_models", build)

    with pytest.raises(dbt.DbtError) as raised:
        refresh.run_minute(settings)

    assert raised.value is failed


def test_a_failed_build_records_its_nodes_and_still_fails_the_minute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _local(tmp_path)

    _failed_minute(settings, monkeypatch)

    assert [(name, status) for _, name, _, status, _ in _rows(settings)] == [
        ("fct_donations", "success"),
        ("unique_fct_donations_donation_id.1a2b", "fail"),
    ]


def _unwritable(settings: Settings) -> None:
    """An ops.dbt_node_results the refresh cannot write: a table of another shape."""
    with warehouse.connect(settings.warehouse_path) as con:
        con.execute("create schema ops")
        con.execute("create table ops.dbt_node_results (other integer)")


def test_a_failed_build_fails_with_its_own_error_when_its_results_cannot_be_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _local(tmp_path)
    _unwritable(settings)

    _failed_minute(settings, monkeypatch)

    assert "2 dbt node results not recorded" in caplog.text


class _Published(Exception):
    pass


def test_a_build_is_published_when_its_results_cannot_be_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _local(tmp_path)
    _unwritable(settings)
    built = dbt.DbtResult("build", nodes=2, invocation_id="built", node_runs=RUNS)
    reports: list[refresh.MinuteReport] = []

    def publish(_: Settings, report: refresh.MinuteReport) -> float | None:
        reports.append(report)
        raise _Published

    monkeypatch.setattr(refresh, "land", lambda _: 0)
    monkeypatch.setattr(dbt, "build_streaming_models", lambda _: built)
    monkeypatch.setattr(refresh, "_publish", publish)

    with pytest.raises(_Published):
        refresh.run_minute(settings)

    assert [r.node_results_unrecorded for r in reports] == [2]

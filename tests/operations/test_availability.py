"""The availability objective: good minutes over the refresh log (a real DuckDB table shaped as
ops.pipeline_freshness), the burn-rate thresholds, and the evaluator against the local
CloudWatch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import sqlglot
import yaml  # type: ignore[import-untyped, unused-ignore]
from sqlglot import exp

from ingestion.config import aws
from ingestion.config.constants import FRESHNESS_TARGET_SECONDS, METRIC_NAMESPACE
from ingestion.config.settings import Settings
from ingestion.operations.availability import (
    BUDGET_MINUTES,
    BURN_RATE_ALERTS,
    REFRESH_LOG_SQL,
    WINDOW,
    Refresh,
    evaluate,
    measure,
    read_refresh_log,
)

# Naive UTC, as refreshed_at is in the warehouse.
MODELS_YML = (
    Path(__file__).resolve().parents[2] / "models" / "operations" / "_operations__models.yml"
)
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None)


@pytest.fixture
def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory warehouse with the refresh log's contract (models/operations/)."""
    con = duckdb.connect()
    con.execute("create schema ops")
    con.execute(
        """
        create table ops.pipeline_freshness (
            invocation_id varchar not null,
            refreshed_at timestamp,
            event_count bigint,
            donation_count bigint,
            freshness_p50_seconds double,
            freshness_p95_seconds double,
            freshness_max_seconds double,
            landing_lag_p50_seconds double,
            landing_lag_max_seconds double,
            max_landed_at timestamp with time zone,
            max_landed_batch bigint,
            published_at timestamp with time zone,
            dashboard_freshness_p50_seconds double,
            dashboard_freshness_p95_seconds double
        )
        """
    )
    yield con
    con.close()


def _log(con: duckdb.DuckDBPyConnection, *rows: tuple[datetime, float | None]) -> None:
    con.executemany(
        "insert into ops.pipeline_freshness (invocation_id, refreshed_at, freshness_p95_seconds)"
        " values (?, ?, ?)",
        [(uuid.uuid4().hex, at, p95) for at, p95 in rows],
    )


def test_a_minute_without_a_heartbeat_is_bad_and_spends_budget(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    minute = timedelta(minutes=1)
    # Refreshes in minutes 0, 1 and 3: minute 2 had none.
    _log(warehouse, (T0 + timedelta(seconds=5), 30.0), (T0 + minute, None), (T0 + 3 * minute, 40.0))
    result = measure(read_refresh_log(warehouse))
    assert (result.minutes, result.good_minutes, result.bad_minutes) == (4, 3, 1)
    assert result.ratio == pytest.approx(0.75)
    assert result.budget_left_minutes == pytest.approx(BUDGET_MINUTES - 1)
    assert pytest.approx(21.6) == BUDGET_MINUTES


def test_a_minute_is_good_only_while_its_worst_p95_is_under_two_minutes(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    target = float(FRESHNESS_TARGET_SECONDS)
    _log(
        warehouse,
        (T0, target - 0.1),  # good
        (T0 + timedelta(minutes=1), target),  # at the target: not under it
        # Two refreshes in one minute: the later one's P95 was late, so the minute was.
        (T0 + timedelta(minutes=2, seconds=1), 10.0),
        (T0 + timedelta(minutes=2, seconds=40), target + 30),
        (T0 + timedelta(minutes=3), None),  # a heartbeat with no gifts: good
    )
    result = measure(read_refresh_log(warehouse))
    assert (result.minutes, result.good_minutes) == (4, 2)


def test_a_minute_is_judged_by_its_freshness_to_the_dashboards_once_published(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    _log(warehouse, (T0, 30.0), (T0 + timedelta(minutes=1), 30.0))
    # The second refresh's gifts reached the mart in time but the dashboards only 150 s late.
    warehouse.execute(
        "update ops.pipeline_freshness set dashboard_freshness_p95_seconds = ?"
        " where refreshed_at = ?",
        [150.0, T0 + timedelta(minutes=1)],
    )
    result = measure(read_refresh_log(warehouse))
    assert (result.minutes, result.good_minutes) == (2, 1)


def test_the_window_is_the_last_30_days_and_later_minutes_count_when_asked(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    old = T0 - timedelta(days=45)
    _log(warehouse, (old, 500.0), (T0 - timedelta(days=29), 10.0), (T0, 10.0))
    log = read_refresh_log(warehouse)
    assert log[0].at == T0 - timedelta(days=29)  # the query reads 31 days only
    result = measure([*log, Refresh(old, 500.0)])
    assert result.end - result.start == WINDOW
    assert result.good_minutes == 2  # the 45-day-old bad minute is out of the window
    # Judged up to a later moment, the silent minutes since the last heartbeat are bad.
    later = measure(log, end=T0 + timedelta(minutes=11, seconds=30))  # 12:01-12:10
    assert later.bad_minutes - measure(log).bad_minutes == 10


def test_an_empty_log_has_no_availability_and_the_whole_budget(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    result = measure(read_refresh_log(warehouse))
    assert result.ratio is None
    assert result.budget_left_minutes == pytest.approx(BUDGET_MINUTES)


def test_burn_rate_alerts_fire_on_the_sre_workbook_error_rates() -> None:
    fast, slow = BURN_RATE_ALERTS
    # 14.4 x 0.05% of an hour is 0.43 minutes: any bad minute in the hour, and in the last 5.
    assert (fast.bad_minutes_to_fire(fast.long_minutes), fast.long_minutes) == (1, 60)
    assert (fast.bad_minutes_to_fire(fast.short_minutes), fast.short_minutes) == (1, 5)
    # 6 x 0.05% of six hours is 1.08 minutes: two bad minutes in six hours, one in 30 minutes.
    assert (slow.bad_minutes_to_fire(slow.long_minutes), slow.long_minutes) == (2, 360)
    assert (slow.bad_minutes_to_fire(slow.short_minutes), slow.short_minutes) == (1, 30)
    assert (fast.severity, slow.severity) == ("page", "ticket")


def _put(cloudwatch: object, environment: str, name: str, value: float, at: datetime) -> None:
    cloudwatch.put_metric_data(  # type: ignore[attr-defined]
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Environment", "Value": environment}],
                "Timestamp": at,
                "Value": value,
            }
        ],
    )


def _published(cloudwatch: object, environment: str, name: str, since: datetime) -> list[float]:
    response = cloudwatch.get_metric_statistics(  # type: ignore[attr-defined]
        Namespace=METRIC_NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": environment}],
        StartTime=since,
        EndTime=since + timedelta(minutes=5),
        Period=60,
        Statistics=["Maximum"],
    )
    return [point["Maximum"] for point in response["Datapoints"]]


def test_the_evaluator_publishes_each_judged_minute_and_the_budget_left(
    settings: Settings,
) -> None:
    cloudwatch = aws.client("cloudwatch", settings)
    environment = f"test-{uuid.uuid4().hex[:8]}"  # a dimension of its own on the shared endpoint
    now = datetime.now(UTC).replace(second=30, microsecond=0)
    good = now - timedelta(minutes=2)
    late = now - timedelta(minutes=1)
    _put(cloudwatch, environment, "RefreshCompleted", 1, good)
    _put(cloudwatch, environment, "FreshnessP95Seconds", 45.0, good)
    _put(cloudwatch, environment, "RefreshCompleted", 1, late)
    _put(cloudwatch, environment, "FreshnessP95Seconds", 150.0, late)

    first = evaluate(cloudwatch, environment, now)  # judges minute now-2: good
    second = evaluate(cloudwatch, environment, now + timedelta(minutes=1))  # now-1: P95 late
    silent = evaluate(cloudwatch, environment, now + timedelta(minutes=2))  # now: no heartbeat

    since = good.replace(second=0)
    assert sorted(_published(cloudwatch, environment, "GoodMinute", since)) == [0.0, 0.0, 1.0]
    assert (first.minutes, first.good_minutes) == (1, 1)
    assert (second.minutes, second.good_minutes) == (2, 1)
    assert (silent.minutes, silent.good_minutes) == (3, 1)
    assert silent.budget_left_minutes == pytest.approx(BUDGET_MINUTES - 2)
    budget = _published(cloudwatch, environment, "ErrorBudgetRemainingMinutes", since)
    assert min(budget) == pytest.approx(BUDGET_MINUTES - 2)


def test_the_refresh_log_query_is_redshift_sql_over_the_models_contracted_columns() -> None:
    # The operations page runs it on Redshift too; no Redshift is reachable from the tests.
    tree = sqlglot.parse_one(REFRESH_LOG_SQL, read="redshift")
    assert {t.name for t in tree.find_all(exp.Table)} == {"pipeline_freshness"}
    contract = yaml.safe_load(MODELS_YML.read_text())
    (model,) = [m for m in contract["models"] if m["name"] == "pipeline_freshness"]
    columns = {c["name"] for c in model["columns"]}
    assert {c.name for c in tree.find_all(exp.Column)} <= columns

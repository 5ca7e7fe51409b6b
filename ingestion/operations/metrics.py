"""The refresh's health figures, measured in the warehouse and published to CloudWatch.

The alarms in infra/stacks/monitoring.py read exactly these names in namespace ACCFB/Pipeline
with one dimension, Environment. Locally they go to the endpoint's CloudWatch (moto) so the same
code path runs in the tests.

Each refresh that completes also publishes ``RefreshCompleted`` (1): the heartbeat the
``refresh-stalled`` alarm watches. Freshness has a value only when gifts arrived, so its alarm
treats silence as calm and the heartbeat's says the refresh stopped.

The figures are measured with the warehouse's own SQL: DuckDB locally, Redshift on a deployed
target (its SQL is parsed with sqlglot's Redshift dialect in tests/warehouse). The warehouse
clients are imported inside the functions that use them, so a DAG imports this module with only
MWAA's requirements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from ingestion.config import aws
from ingestion.config.constants import FRESHNESS_TARGET_SECONDS, METRIC_NAMESPACE
from ingestion.config.settings import Settings
from ingestion.operations.alerts import Alert

# The scope of the refresh's own checks in the alert ledger (alerts.settle).
REFRESH_CHECKS = "refresh:"


class _Connection(Protocol):
    def execute(self, query: str, parameters: Any = ...) -> Any: ...


# Freshness is measured over gifts that reached the mart since the previous refresh; the lag is
# how long the newest landed record waited between Kinesis accepting it and landing; conflicting
# redeliveries are those whose later delivery landed since then (a producer reusing an event_id
# with other content: ops.conflicting_redeliveries). landed_at is with time zone locally.
_FIGURES_SQL = """
select
    (
        select quantile_cont(epoch(first_loaded_at) - epoch(emitted_at), 0.95)
        from marts.fct_donations
        where first_loaded_at >= $since
    ) as freshness_p95_seconds,
    (
        select epoch(max(refresh_time)) - epoch(max(approximate_arrival_timestamp))
        from lander.kinesis_records
    ) as landing_lag_seconds,
    (
        select count(*)
        from ops.quarantined_events
        where quarantined_at >= $since
    ) as quarantined_events,
    (
        select count(*)
        from ops.conflicting_redeliveries
        where landed_at >= $since_utc
    ) as conflicting_redeliveries
"""

# The same figures on Redshift: the landing is the streaming materialized view, whose
# refresh_time is when each record became visible; redshift_connector binds %s in order.
REDSHIFT_FIGURES_SQL = """
select
    (
        select percentile_cont(0.95) within group (
            order by datediff(millisecond, emitted_at, first_loaded_at) / 1000.0
        )
        from marts.fct_donations
        where first_loaded_at >= %s
    ) as freshness_p95_seconds,
    (
        select datediff(
            millisecond, max(approximate_arrival_timestamp), max(refresh_time)
        ) / 1000.0
        from landing.stream_events
    ) as landing_lag_seconds,
    (
        select count(*)
        from ops.quarantined_events
        where quarantined_at >= %s
    ) as quarantined_events,
    (
        select count(*)
        from ops.conflicting_redeliveries
        where landed_at >= %s
    ) as conflicting_redeliveries
"""


@dataclass(frozen=True)
class RefreshFigures:
    freshness_p95_seconds: float | None
    landing_lag_seconds: float | None
    quarantined_events: int
    conflicting_redeliveries: int = 0

    def over_target(self) -> dict[str, float]:
        """The figures above the freshness target, by metric name."""
        figures = {
            "FreshnessP95Seconds": self.freshness_p95_seconds,
            "LandingLagSeconds": self.landing_lag_seconds,
        }
        return {
            name: value
            for name, value in figures.items()
            if value is not None and value > FRESHNESS_TARGET_SECONDS
        }


def measure(con: _Connection, since: datetime) -> RefreshFigures:
    """Figures for the refresh that started at ``since`` (naive UTC in the marts), on DuckDB."""
    utc = since.astimezone(UTC)
    row = con.execute(
        _FIGURES_SQL, {"since": utc.replace(tzinfo=None), "since_utc": utc}
    ).fetchone()
    return _figures(row)


def _redshift(settings: Settings) -> Any:
    """A connection to the Redshift target as the session's IAM identity (temporary database
    credentials, as ``accfb check``)."""
    import redshift_connector

    from ingestion.operations.checks import redshift_data_source

    login = redshift_data_source(settings)["connection"]
    return redshift_connector.connect(
        host=login["host"],
        port=int(login["port"]),
        database=login["database"],
        user=login["user"],
        password=login["password"],
        timeout=login["connect_timeout"],
    )


def measure_redshift(settings: Settings, since: datetime) -> RefreshFigures:
    """The same figures on the Redshift target."""
    naive = since.astimezone(UTC).replace(tzinfo=None)
    with _redshift(settings) as con:
        cursor = con.cursor()
        cursor.execute(REDSHIFT_FIGURES_SQL, (naive, naive, naive))
        return _figures(cursor.fetchone())


def measure_in_warehouse(settings: Settings, since: datetime) -> RefreshFigures:
    """Figures from whichever warehouse the settings' dbt target builds."""
    if settings.dbt_target != "local":
        return measure_redshift(settings, since)
    from ingestion.config import warehouse

    with warehouse.connect(settings.warehouse_path) as con:
        return measure(con, since)


def _figures(row: Any) -> RefreshFigures:
    # S101: narrows the type for mypy; both queries always return a row.
    assert row is not None  # noqa: S101
    freshness, lag, quarantined, conflicting = row
    return RefreshFigures(
        freshness_p95_seconds=None if freshness is None else float(freshness),
        landing_lag_seconds=None if lag is None else float(lag),
        quarantined_events=int(quarantined),
        conflicting_redeliveries=int(conflicting),
    )


# Source to dashboard: the latest refresh's gifts (loaded after the refresh before it) became
# visible where the dashboards read at `visible_at`: the serving copy's publish locally, the
# build's commit on Redshift. Stamped on the refresh's row of ops.pipeline_freshness.
_STAMP_SQL = """
with latest as (
    select invocation_id, refreshed_at
    from ops.pipeline_freshness
    where refreshed_at = (select max(refreshed_at) from ops.pipeline_freshness)
        and published_at is null
),

window_start as (
    select coalesce(max(refreshed_at), '-infinity'::timestamp) as after
    from ops.pipeline_freshness
    where refreshed_at < (select refreshed_at from latest)
),

visible as (
    select
        quantile_cont(epoch($visible_at) - epoch(fct_donations.emitted_at), 0.5) as p50,
        quantile_cont(epoch($visible_at) - epoch(fct_donations.emitted_at), 0.95) as p95
    from marts.fct_donations, latest, window_start
    where fct_donations.first_loaded_at > window_start.after
        and fct_donations.first_loaded_at <= latest.refreshed_at
)

update ops.pipeline_freshness
set
    published_at = $visible_at,
    dashboard_freshness_p50_seconds = visible.p50,
    dashboard_freshness_p95_seconds = visible.p95
from latest, visible
where pipeline_freshness.invocation_id = latest.invocation_id
returning pipeline_freshness.invocation_id, dashboard_freshness_p95_seconds
"""


@dataclass(frozen=True)
class Stamped:
    invocation_id: str
    dashboard_freshness_p95_seconds: float | None


def stamp_visible(con: _Connection, visible_at: datetime) -> Stamped | None:
    """Stamp the latest refresh's row with when its gifts became visible and their P50/P95
    source-to-dashboard seconds (DuckDB); None when the latest row is stamped already (nothing
    was built since the last publish)."""
    naive = visible_at.astimezone(UTC).replace(tzinfo=None)
    row = con.execute(_STAMP_SQL, {"visible_at": naive}).fetchone()
    return None if row is None else Stamped(str(row[0]), None if row[1] is None else float(row[1]))


# The same on Redshift, read then written (redshift_connector binds %s in order).
REDSHIFT_VISIBLE_SQL = """
select
    latest.invocation_id,
    percentile_cont(0.5) within group (
        order by datediff(millisecond, fct_donations.emitted_at, %s) / 1000.0
    ) as p50,
    percentile_cont(0.95) within group (
        order by datediff(millisecond, fct_donations.emitted_at, %s) / 1000.0
    ) as p95
from ops.pipeline_freshness as latest
left join marts.fct_donations
    on fct_donations.first_loaded_at <= latest.refreshed_at
    and fct_donations.first_loaded_at > (
        select coalesce(max(earlier.refreshed_at), '1900-01-01'::timestamp)
        from ops.pipeline_freshness as earlier
        where earlier.refreshed_at < latest.refreshed_at
    )
where latest.published_at is null
    and latest.refreshed_at = (select max(refreshed_at) from ops.pipeline_freshness)
group by latest.invocation_id
"""
REDSHIFT_STAMP_SQL = """
update ops.pipeline_freshness
set published_at = %s, dashboard_freshness_p50_seconds = %s, dashboard_freshness_p95_seconds = %s
where invocation_id = %s
"""


def stamp_visible_redshift(settings: Settings, visible_at: datetime) -> float | None:
    """``stamp_visible`` on the Redshift target; returns the P95 it stamped."""
    naive = visible_at.astimezone(UTC).replace(tzinfo=None)
    with _redshift(settings) as con:
        cursor = con.cursor()
        cursor.execute(REDSHIFT_VISIBLE_SQL, (naive, naive))
        row = cursor.fetchone()
        if row is None:
            return None
        invocation_id, p50, p95 = row
        cursor.execute(REDSHIFT_STAMP_SQL, (naive, p50, p95, invocation_id))
        con.commit()
        return None if p95 is None else float(p95)


def archive_processing_failed(settings: Settings, since: datetime) -> int:
    """Records the archive's transform failed (Firehose's errors/ prefix) in objects written
    since ``since``: each is a hole in the archive no replay can fill."""
    from ingestion.archive.errors import failed_records

    s3 = aws.client("s3", settings)
    return sum(1 for _ in failed_records(s3, settings.raw_bucket, written_since=since))


def refresh_alerts(figures: RefreshFigures, archive_failed: int = 0, **origin: str) -> list[Alert]:
    """What the refresh pages or tickets on: figures over the freshness target, producers that
    reused an event_id with other content, records the archive could not file. The alerts
    carry counts only, never a value (a conflicting record holds donor PII)."""
    alerts = [
        Alert(
            summary=f"{name} over the 2-minute target",
            runbook="freshness-p95" if name == "FreshnessP95Seconds" else "landing-lag",
            measured=f"{value:.1f} s",
            threshold=f"<= {FRESHNESS_TARGET_SECONDS:.0f} s",
            check=f"{REFRESH_CHECKS}{name}",
            **origin,
        )
        for name, value in figures.over_target().items()
    ]
    if figures.conflicting_redeliveries:
        alerts.append(
            Alert(
                summary="An event_id was delivered again with different content",
                runbook="conflicting-redeliveries",
                measured=f"{figures.conflicting_redeliveries} redelivery(ies)",
                threshold="0 (ops.conflicting_redeliveries names them)",
                check=f"{REFRESH_CHECKS}ConflictingRedeliveries",
                **origin,
            )
        )
    if archive_failed:
        alerts.append(
            Alert(
                summary="The archive's transform failed records (errors/ prefix)",
                runbook="archive-processing-failed",
                measured=f"{archive_failed} record(s)",
                threshold="0",
                check=f"{REFRESH_CHECKS}ArchiveProcessingFailed",
                **origin,
            )
        )
    return alerts


def publish(
    settings: Settings,
    figures: RefreshFigures | None = None,
    *,
    data_quality_failures: int | None = None,
    archive_processing_failed: int | None = None,
    refresh_completed: bool = False,
) -> list[dict[str, Any]]:
    """Put the figures that were measured; a figure with nothing to measure is left out, so
    CloudWatch sees missing data rather than a reassuring zero. ``refresh_completed`` adds the
    heartbeat, which is always 1: its absence is the signal."""
    values: dict[str, float] = {}
    if refresh_completed:
        values["RefreshCompleted"] = 1
    if figures is not None:
        if figures.freshness_p95_seconds is not None:
            values["FreshnessP95Seconds"] = figures.freshness_p95_seconds
        if figures.landing_lag_seconds is not None:
            values["LandingLagSeconds"] = figures.landing_lag_seconds
        values["QuarantinedEvents"] = figures.quarantined_events
        values["ConflictingRedeliveries"] = figures.conflicting_redeliveries
    if data_quality_failures is not None:
        values["DataQualityFailures"] = data_quality_failures
    if archive_processing_failed is not None:
        values["ArchiveProcessingFailed"] = archive_processing_failed
    now = datetime.now(UTC)
    data = [
        {
            "MetricName": name,
            "Dimensions": [{"Name": "Environment", "Value": settings.environment.value}],
            "Timestamp": now,
            "Value": value,
            "Unit": "Seconds" if name.endswith("Seconds") else "Count",
        }
        for name, value in values.items()
    ]
    if data:
        aws.client("cloudwatch", settings).put_metric_data(
            Namespace=METRIC_NAMESPACE, MetricData=data
        )
    return data

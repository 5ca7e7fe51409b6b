"""The refresh's health figures, measured in the warehouse and published to CloudWatch.

The alarms in infra/stacks/monitoring.py read exactly these names in namespace ACCFB/Pipeline
with one dimension, Environment. Locally they go to the endpoint's CloudWatch (moto) so the same
code path runs in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from ingestion.config import aws
from ingestion.config.constants import FRESHNESS_TARGET_SECONDS, METRIC_NAMESPACE
from ingestion.config.settings import Settings

# Freshness is measured over gifts that reached the mart since the previous refresh; the lag is
# how long the newest landed record waited between Kinesis accepting it and landing.
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
    ) as quarantined_events
"""


@dataclass(frozen=True)
class RefreshFigures:
    freshness_p95_seconds: float | None
    landing_lag_seconds: float | None
    quarantined_events: int

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


def measure(con: duckdb.DuckDBPyConnection, since: datetime) -> RefreshFigures:
    """Figures for the refresh that started at ``since`` (naive UTC in the marts)."""
    row = con.execute(
        _FIGURES_SQL, {"since": since.astimezone(UTC).replace(tzinfo=None)}
    ).fetchone()
    # S101: narrows the type for mypy; the query always returns a row.
    assert row is not None  # noqa: S101
    freshness, lag, quarantined = row
    return RefreshFigures(
        freshness_p95_seconds=None if freshness is None else float(freshness),
        landing_lag_seconds=None if lag is None else float(lag),
        quarantined_events=int(quarantined),
    )


def publish(
    settings: Settings,
    figures: RefreshFigures | None = None,
    *,
    data_quality_failures: int | None = None,
) -> list[dict[str, Any]]:
    """Put the figures that were measured; a figure with nothing to measure is left out, so
    CloudWatch sees missing data rather than a reassuring zero."""
    values: dict[str, float] = {}
    if figures is not None:
        if figures.freshness_p95_seconds is not None:
            values["FreshnessP95Seconds"] = figures.freshness_p95_seconds
        if figures.landing_lag_seconds is not None:
            values["LandingLagSeconds"] = figures.landing_lag_seconds
        values["QuarantinedEvents"] = figures.quarantined_events
    if data_quality_failures is not None:
        values["DataQualityFailures"] = data_quality_failures
    now = datetime.now(UTC)
    data = [
        {
            "MetricName": name,
            "Dimensions": [{"Name": "Environment", "Value": settings.environment.value}],
            "Timestamp": now,
            "Value": value,
            "Unit": "Count" if name in {"QuarantinedEvents", "DataQualityFailures"} else "Seconds",
        }
        for name, value in values.items()
    ]
    if data:
        aws.client("cloudwatch", settings).put_metric_data(
            Namespace=METRIC_NAMESPACE, MetricData=data
        )
    return data

"""The 99.95% availability objective: which minutes were good, and how much error budget is left.

A minute is good when the refresh's heartbeat arrived in it and the freshness P95 of what that
minute's refreshes brought was under the 2-minute target. A minute with a heartbeat and no new
gifts is good (nothing reached the dashboards late); a minute with no heartbeat is bad whatever
else happened. Availability is good minutes over the minutes of the window: the last 30 days, or
since the first heartbeat when the pipeline is younger than that. The error budget is the 0.05%
of a 30-day window that may be bad (21.6 minutes); what is left is that less the bad minutes.

One classification, two sources of minutes:

- the refresh log ``ops.pipeline_freshness`` (one row per refresh, its ``refreshed_at`` the
  heartbeat): ``accfb`` locally and the operations page read it;
- deployed, the refresh's CloudWatch metrics ``RefreshCompleted`` and ``FreshnessP95Seconds``:
  ``handler`` (the Serving stack's evaluator Lambda, every minute) classifies the minute that
  just closed and publishes ``GoodMinute`` (1 or 0, so a bad minute is a datapoint, not a gap),
  ``AvailabilityPercent`` and ``ErrorBudgetRemainingMinutes`` over 30 days of ``GoodMinute``.
  The burn-rate alarms (``BURN_RATE_ALERTS``) read ``GoodMinute``.

Standard library and boto3 only: the evaluator's Lambda asset is this file and the constants.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

from ingestion.config.constants import FRESHNESS_TARGET_SECONDS, METRIC_NAMESPACE

# The brief's target for "the pipeline serving internal operations dashboards".
SLO_TARGET: Final = 0.9995
WINDOW: Final = timedelta(days=30)
WINDOW_MINUTES: Final = int(WINDOW / timedelta(minutes=1))
# What may be bad in a whole window: 0.05% of 43,200 minutes = 21.6 minutes.
BUDGET_MINUTES: Final = (1 - SLO_TARGET) * WINDOW_MINUTES

# The refresh log, newest 31 days (the window and a day's slack for the clock of its writer).
# Written in the SQL DuckDB and Redshift share, without parameters, so any reader can run it.
# Freshness is source to dashboard, as the FreshnessP95Seconds metric the evaluator reads in AWS;
# a refresh whose publish has not been stamped yet counts with its freshness to the mart.
REFRESH_LOG_SQL: Final = """
select
    refreshed_at,
    coalesce(dashboard_freshness_p95_seconds, freshness_p95_seconds) as freshness_p95_seconds
from ops.pipeline_freshness
where refreshed_at >= (select max(refreshed_at) from ops.pipeline_freshness) - interval '31 days'
order by refreshed_at
"""


@dataclass(frozen=True, kw_only=True)
class BurnRateAlert:
    """One multi-window burn-rate alert of Google's SRE workbook (chapter "Alerting on SLOs"): it
    fires when the budget burns ``burn_rate`` times faster than the window allows over both the
    long window (it matters) and the short one (it is still happening, so it resets soon after a
    recovery)."""

    alert_id: str
    severity: str  # the Monitoring stack's topic: "page" or "ticket"
    burn_rate: float
    long_minutes: int
    short_minutes: int

    def bad_minutes_to_fire(self, window_minutes: int) -> int:
        """Bad minutes in a window that mean at least ``burn_rate`` times the sustainable rate:
        the error rate burn_rate x (1 - target), as whole minutes of that window (at least 1)."""
        # round: floating-point noise on a product that is a whole number of minutes (1 - 0.9995
        # is not exactly 0.0005) must not add a minute to it.
        minutes = round(self.burn_rate * (1 - SLO_TARGET) * window_minutes, 9)
        return max(1, math.ceil(minutes))


# The workbook's first two rows. Fast: 2% of a 30-day budget in an hour (14.4x) pages. Slow: 5%
# in six hours (6x); the workbook pages on it too, but at 99.95% that is two bad minutes in six
# hours, which the morning's ticket queue can take (docs/on-call.md).
BURN_RATE_ALERTS: Final = (
    BurnRateAlert(
        alert_id="availability-fast-burn",
        severity="page",
        burn_rate=14.4,
        long_minutes=60,
        short_minutes=5,
    ),
    BurnRateAlert(
        alert_id="availability-slow-burn",
        severity="ticket",
        burn_rate=6.0,
        long_minutes=360,
        short_minutes=30,
    ),
)


@dataclass(frozen=True)
class Refresh:
    """A heartbeat: when a refresh completed, and the P95 freshness of the gifts it brought
    (None when it brought none)."""

    at: datetime
    freshness_p95_seconds: float | None


@dataclass(frozen=True)
class Availability:
    """Good and bad minutes of ``[start, end)``, and the budget of a whole window beside them."""

    start: datetime
    end: datetime
    minutes: int
    good_minutes: int

    @property
    def bad_minutes(self) -> int:
        return self.minutes - self.good_minutes

    @property
    def ratio(self) -> float | None:
        """Good minutes over minutes; None before the first heartbeat."""
        return self.good_minutes / self.minutes if self.minutes else None

    @property
    def budget_left_minutes(self) -> float:
        """Negative once the window has had more bad minutes than the objective allows."""
        return BUDGET_MINUTES - self.bad_minutes

    @property
    def meets_target(self) -> bool:
        return self.budget_left_minutes >= 0


def minute_of(moment: datetime) -> datetime:
    """The UTC minute a moment falls in; a naive moment is UTC already (as in the marts)."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.replace(second=0, microsecond=0)


def good_minutes(refreshes: Iterable[Refresh]) -> dict[datetime, bool]:
    """Every minute that had a heartbeat, and whether it was good: the worst P95 of its
    refreshes (CloudWatch's Maximum of the minute) under the target, or no gifts at all."""
    worst: dict[datetime, float | None] = {}
    for refresh in refreshes:
        minute = minute_of(refresh.at)
        p95 = refresh.freshness_p95_seconds
        before = worst.get(minute)
        worst[minute] = p95 if before is None else before if p95 is None else max(before, p95)
    return {minute: p95 is None or p95 < FRESHNESS_TARGET_SECONDS for minute, p95 in worst.items()}


def measure(refreshes: Iterable[Refresh], *, end: datetime | None = None) -> Availability:
    """Availability over the window that ends at ``end`` (exclusive; a minute boundary is
    taken, so the minute still running is not judged), by default just after the last
    heartbeat: a log read after the pipeline stopped is judged over the time it ran."""
    minutes = good_minutes(refreshes)
    if not minutes:
        moment = minute_of(end or datetime.now(UTC))
        return Availability(start=moment, end=moment, minutes=0, good_minutes=0)
    stop = minute_of(end) if end is not None else max(minutes) + timedelta(minutes=1)
    start = max(stop - WINDOW, min(minutes))
    total = max(0, int((stop - start) / timedelta(minutes=1)))
    good = sum(1 for minute, ok in minutes.items() if ok and start <= minute < stop)
    return Availability(start=start, end=stop, minutes=total, good_minutes=good)


class _Connection(Protocol):
    def execute(self, query: str, parameters: Any = ...) -> Any: ...


def read_refresh_log(con: _Connection) -> list[Refresh]:
    """The heartbeats of ``ops.pipeline_freshness`` on a DuckDB connection."""
    rows = con.execute(REFRESH_LOG_SQL).fetchall()
    return [Refresh(at=at, freshness_p95_seconds=p95) for at, p95 in rows]


# The evaluator (AWS): reads the refresh's metrics, publishes the objective's.

# A refresh publishes its metrics as it completes; judging the minute two minutes back leaves
# them time to arrive, and the alarms' windows are an hour and more.
EVALUATION_DELAY: Final = timedelta(minutes=2)


def _metric(environment: str, name: str, stat: str, period: int) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": METRIC_NAMESPACE,
            "MetricName": name,
            "Dimensions": [{"Name": "Environment", "Value": environment}],
        },
        "Period": period,
        "Stat": stat,
    }


def _values(response: Mapping[str, Any], query_id: str) -> list[float]:
    for result in response["MetricDataResults"]:
        if result["Id"] == query_id:
            return [float(v) for v in result["Values"]]
    return []


def evaluate_minute(cloudwatch: Any, environment: str, minute: datetime) -> bool:
    """Whether ``minute`` was good, from the refresh's heartbeat and P95 metrics."""
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "heartbeat", "MetricStat": _metric(environment, "RefreshCompleted", "Sum", 60)},
            {
                "Id": "p95",
                "MetricStat": _metric(environment, "FreshnessP95Seconds", "Maximum", 60),
            },
        ],
        StartTime=minute,
        EndTime=minute + timedelta(minutes=1),
    )
    if not any(v >= 1 for v in _values(response, "heartbeat")):
        return False
    worst = _values(response, "p95")
    return good_minutes([Refresh(minute, max(worst) if worst else None)])[minute]


def evaluate(cloudwatch: Any, environment: str, now: datetime) -> Availability:
    """Publish ``GoodMinute`` for the minute being judged, then the window's availability from
    the ``GoodMinute`` datapoints (minutes the evaluator did not run are in neither count; the
    burn-rate alarms treat them as bad, so none passes unseen)."""
    minute = minute_of(now - EVALUATION_DELAY)
    good = evaluate_minute(cloudwatch, environment, minute)
    dimensions = [{"Name": "Environment", "Value": environment}]
    cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": "GoodMinute",
                "Dimensions": dimensions,
                "Timestamp": minute,
                "Value": 1.0 if good else 0.0,
                "Unit": "Count",
            }
        ],
    )
    end = minute + timedelta(minutes=1)
    period = int(WINDOW.total_seconds())
    response = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {"Id": "good", "MetricStat": _metric(environment, "GoodMinute", "Sum", period)},
            {
                "Id": "judged",
                "MetricStat": _metric(environment, "GoodMinute", "SampleCount", period),
            },
        ],
        StartTime=end - WINDOW,
        EndTime=end,
    )
    judged = int(sum(_values(response, "judged")))
    result = Availability(
        start=end - WINDOW,
        end=end,
        minutes=judged,
        good_minutes=int(sum(_values(response, "good"))),
    )
    data = [
        {
            "MetricName": "ErrorBudgetRemainingMinutes",
            "Dimensions": dimensions,
            "Timestamp": minute,
            "Value": result.budget_left_minutes,
            "Unit": "None",
        }
    ]
    if result.ratio is not None:
        data.append(
            {
                "MetricName": "AvailabilityPercent",
                "Dimensions": dimensions,
                "Timestamp": minute,
                "Value": 100 * result.ratio,
                "Unit": "Percent",
            }
        )
    cloudwatch.put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)
    return result


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The evaluator Lambda's entry point (EventBridge Scheduler, every minute). The same
    ``ACCFB_*`` names as the settings, so a test points it at the local endpoint."""
    from botocore.config import Config

    from ingestion.config.clients import make_client

    cloudwatch = make_client(
        "cloudwatch",
        region=os.environ.get("ACCFB_AWS_REGION") or os.environ["AWS_REGION"],
        endpoint_url=os.environ.get("ACCFB_AWS_ENDPOINT_URL") or None,
        config=Config(retries={"mode": "standard", "total_max_attempts": 4}, read_timeout=10),
    )
    result = evaluate(cloudwatch, os.environ["ACCFB_ENVIRONMENT"], datetime.now(UTC))
    return {
        "minutes": result.minutes,
        "good_minutes": result.good_minutes,
        "budget_left_minutes": result.budget_left_minutes,
    }

"""The Serving stack's monthly lines: the dashboards on Fargate, the signed-in entry, the lineage
site's endpoint and the availability objective's evaluator and alarms (infra/stacks/serving.py).

Its own section of ``prices.json`` (``serving``, dated on its own) and its own function, so the
pipeline's lines and these change apart. The task sizes are prod's (``infra/settings.py``; a test
keeps them equal), since the runtime package never imports ``infra``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingestion.operations.cost.model import HOURS_PER_MONTH, Line

SERVICE = "Serving"
DASHBOARD_TASKS = 2  # one per AZ
DASHBOARD_VCPU = 0.5
DASHBOARD_MEMORY_GB = 1.0
# Assumptions (not prices).
STAFF_MONTHLY_USERS = 150  # fundraising, finance, disaster response and operations staff
LOAD_BALANCER_LCUS = 1.0  # a few hundred people's dashboards stay inside one capacity unit
ENDPOINT_AZS = 2  # the lineage site's S3 endpoint: the load balancer's two fail-over targets
IMAGE_GB = 1.0  # the dashboards' image: the locked environment
IMAGE_PULLS_PER_MONTH = 20  # deploys and replaced tasks, each pulled through the NAT gateways
LOG_GB_PER_MONTH = 1.0
MINUTES_PER_MONTH = HOURS_PER_MONTH * 60
STANDARD_ALARMS = 5  # dashboards-down and the two windows of each burn-rate alert
COMPOSITE_ALARMS = 2  # one per burn-rate alert
PUBLISHED_METRICS = 3  # GoodMinute, AvailabilityPercent, ErrorBudgetRemainingMinutes
# Each evaluation reads two metrics for the minute and two over the window, and makes two puts.
METRICS_READ_PER_MINUTE = 4
PUTS_PER_MINUTE = 2
EVALUATOR_SECONDS = 0.5
EVALUATOR_MEMORY_GB = 0.125


def serving_lines(prices: Mapping[str, Any]) -> list[Line]:
    """The serving lines, from ``prices['serving']`` and the shared sections it reuses."""
    s = prices["serving"]
    cw = prices["cloudwatch"]
    network = prices["network"]
    lam = prices["lambda"]
    fargate = (
        DASHBOARD_TASKS
        * HOURS_PER_MONTH
        * (DASHBOARD_VCPU * s["fargate_vcpu_hour"] + DASHBOARD_MEMORY_GB * s["fargate_gb_hour"])
    )
    entry = HOURS_PER_MONTH * (s["alb_hour"] + LOAD_BALANCER_LCUS * s["alb_lcu_hour"])
    sign_in = STAFF_MONTHLY_USERS * s["cognito_plus_mau"]
    endpoint = ENDPOINT_AZS * HOURS_PER_MONTH * network["interface_endpoint_az_hour"]
    image = (
        IMAGE_GB * s["ecr_gb_month"]
        + IMAGE_GB * IMAGE_PULLS_PER_MONTH * network["nat_gateway_per_gb"]
        + LOG_GB_PER_MONTH * cw["logs_ingest_per_gb"]
    )
    evaluations = MINUTES_PER_MONTH
    objective = (
        STANDARD_ALARMS * cw["standard_alarm_month"]
        + COMPOSITE_ALARMS * s["composite_alarm_month"]
        + PUBLISHED_METRICS * cw["custom_metric_month"]
        + evaluations * METRICS_READ_PER_MINUTE / 1000 * s["get_metric_data_per_1000_metrics"]
        + evaluations * PUTS_PER_MINUTE / 1000 * s["put_metric_data_per_1000_requests"]
        + evaluations / 1e6 * (lam["requests_per_million"] + s["scheduler_per_million"])
        + evaluations * EVALUATOR_SECONDS * EVALUATOR_MEMORY_GB * lam["arm_gb_second"]
    )
    return [
        Line(
            SERVICE,
            f"dashboards: {DASHBOARD_TASKS} Fargate tasks x {DASHBOARD_VCPU:g} vCPU, "
            f"{DASHBOARD_MEMORY_GB:g} GB",
            fargate,
        ),
        Line(SERVICE, f"internal load balancer ({LOAD_BALANCER_LCUS:g} LCU)", entry),
        Line(SERVICE, f"staff sign-in: Cognito Plus, {STAFF_MONTHLY_USERS} users", sign_in),
        Line(SERVICE, f"lineage site: S3 endpoint ({ENDPOINT_AZS} AZ)", endpoint),
        Line(SERVICE, "image storage and pulls, logs", image),
        Line(SERVICE, "availability: evaluator, metrics, burn-rate alarms", objective),
    ]

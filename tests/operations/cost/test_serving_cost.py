"""The Serving stack's lines in `accfb cost`: dated prices of their own, prod's task sizes."""

from __future__ import annotations

import pytest

from infra.settings import PROD
from ingestion.operations.cost import Mode, Workload, estimate
from ingestion.operations.cost.model import HOURS_PER_MONTH, load_prices
from ingestion.operations.cost.serving import (
    DASHBOARD_MEMORY_GB,
    DASHBOARD_TASKS,
    DASHBOARD_VCPU,
    SERVICE,
)


def test_serving_prices_are_dated_in_their_own_section() -> None:
    serving = load_prices()["serving"]
    assert serving["as_of"] and "Fargate" in serving["source"]


def test_the_estimate_prices_the_dashboards_entry_lineage_site_and_objective() -> None:
    prices = load_prices()
    result = estimate(Workload(modes=(Mode(name="normal", hours=730, events_per_second=800),)))
    lines = {line.item: line.monthly_usd for line in result.lines if line.service == SERVICE}
    assert len(lines) == 6
    fargate = next(usd for item, usd in lines.items() if item.startswith("dashboards:"))
    s = prices["serving"]
    assert fargate == pytest.approx(
        2 * HOURS_PER_MONTH * (0.5 * s["fargate_vcpu_hour"] + 1.0 * s["fargate_gb_hour"])
    )
    balancer = next(usd for item, usd in lines.items() if "load balancer" in item)
    assert balancer == pytest.approx(HOURS_PER_MONTH * (s["alb_hour"] + s["alb_lcu_hour"]))
    assert 50 < result.by_service()[SERVICE] < 150


def test_the_priced_tasks_are_the_ones_prod_deploys() -> None:
    assert PROD.dashboard_tasks == DASHBOARD_TASKS
    assert PROD.dashboard_cpu / 1024 == DASHBOARD_VCPU
    assert PROD.dashboard_memory_mib / 1024 == DASHBOARD_MEMORY_GB

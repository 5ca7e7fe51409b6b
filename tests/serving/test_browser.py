"""The dashboards and the lineage site in a real browser (headless Chromium), on the served
corpus: every page loads without console errors and draws its charts from the corpus's data.
Screenshots go to the state dir's screenshots/ folder (README, "What people look at")."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from ingestion.config import warehouse
from ingestion.config.settings import Settings
from ingestion.serving import copy as serving
from ingestion.serving import source
from tests.conftest import free_port
from tests.serving.browser import chromium, open_page, screenshot_dir, server, settings_env

ACCFB = str(Path(sys.executable).parent / "accfb")
LOAD_MS = 90_000

# Page title -> (charts it draws, metrics whose value is a count query over the marts).
PAGES: dict[str, tuple[int, dict[str, str]]] = {
    "Fundraising": (3, {"Gifts": "select count(*) from marts.fct_donations"}),
    "Finance": (
        3,
        {
            "Processor transactions": "select count(*) from marts.rpt_settlement_reconciliation",
            "Unreconciled": "select count(*) from marts.rpt_settlement_reconciliation "
            "where reconciliation_status <> 'matched'",
        },
    ),
    "Disaster response": (
        5,
        {
            "Households served": "select sum(households_served) from marts.agg_distribution_daily",
            "Open partner orders": "select count(*) from marts.rpt_open_partner_orders",
        },
    ),
    "Operations": (
        4,
        {
            "Refreshes with new gifts": "select count(*) from ops.pipeline_freshness",
            "dbt nodes, latest refresh": "select count(*) from ops.dbt_node_results "
            "where built_at = (select max(built_at) from ops.dbt_node_results)",
        },
    ),
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def dashboard_url(served: Settings) -> Iterator[str]:
    url = f"http://127.0.0.1:{free_port()}"
    command = [ACCFB, "dashboard", "--port", url.rsplit(":", 1)[1]]
    with server(command, settings_env(served), f"{url}/_stcore/health"):
        yield url


def _count(settings: Settings, sql: str) -> int:
    return int(source.query(settings, sql).iloc[0, 0])


@pytest.mark.parametrize("title", list(PAGES))
def test_each_dashboard_page_draws_its_charts_from_the_corpus(
    served: Settings, browser: Browser, dashboard_url: str, title: str
) -> None:
    charts, metrics = PAGES[title]
    watched = open_page(browser)
    page = watched.page
    # As a person would: open the app, then follow the sidebar (a deep link's first request
    # goes to the page's own path and 404s by Streamlit's design before it falls back).
    page.goto(dashboard_url)
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=LOAD_MS)
    drawn = page.get_by_test_id("stVegaLiteChart")
    expect(drawn).to_have_count(charts, timeout=LOAD_MS)
    for index in range(charts):
        expect(drawn.nth(index).locator("canvas, svg").first).to_be_visible(timeout=LOAD_MS)
    for label, sql in metrics.items():
        value = (
            page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")
        )
        expected = _count(served, sql)
        assert expected > 0
        expect(value).to_have_text(f"{expected:,}", timeout=LOAD_MS)
    assert page.get_by_test_id("stException").count() == 0
    assert page.get_by_text("no data yet").count() == 0
    page.screenshot(
        path=screenshot_dir() / f"dashboard-{title.lower().replace(' ', '-')}.png",
        full_page=True,
    )
    assert watched.console_errors() == []
    page.close()


def test_an_open_page_shows_the_next_publish_without_anyone_reloading_it(
    own_copy: Settings, browser: Browser
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    command = [ACCFB, "dashboard", "--port", url.rsplit(":", 1)[1]]
    with server(command, settings_env(own_copy), f"{url}/_stcore/health"):
        watched = open_page(browser)
        page = watched.page
        page.goto(url)  # Fundraising, the default page
        gifts = page.get_by_test_id("stMetric").filter(has_text="Gifts")
        before = _count(own_copy, "select count(*) from marts.fct_donations")
        expect(gifts.get_by_test_id("stMetricValue")).to_have_text(f"{before:,}", timeout=LOAD_MS)
        with warehouse.connect(own_copy.warehouse_path) as con:
            # A new gift in a new batch, as the next refresh would build it.
            con.execute(
                """
                insert into marts.fct_donations
                select * replace (
                    donation_id || '-next' as donation_id,
                    landed_batch + 1000 as landed_batch
                )
                from marts.fct_donations
                limit 1
                """
            )
        serving.publish(own_copy)
        expect(gifts.get_by_test_id("stMetricValue")).to_have_text(
            f"{before + 1:,}", timeout=30_000
        )
        assert watched.console_errors() == []
        page.close()


LINEAGE_JS = """() => {
    const graph = angular.element(document.body).injector().get('graph').graph.elements;
    return {
        nodes: graph.filter(e => e.group === 'nodes').map(e => e.data.unique_id),
        edges: graph.filter(e => e.group === 'edges').map(e => [e.data.source, e.data.target]),
    };
}"""
FCT_DONATIONS = "model.accfb.fct_donations"
# dbt's own page asks for three URLs that are templates nobody filled in: its icons' Angular
# `src="{{ getIcon(...) }}"` (before Angular binds it) and its favicon's unbundled
# `${require(...)}`. They 404 on any dbt docs site; nothing else may fail.
DBT_DOCS_TEMPLATE_404S = ("/%7B%7B%20getIcon(", "/$%7Brequire('./assets/favicons/favicon.ico')")


def test_the_lineage_site_shows_fct_donations_with_its_upstream_models(
    served: Settings, browser: Browser
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    command = [ACCFB, "docs", "--port", url.rsplit(":", 1)[1]]
    with server(command, settings_env(served), url):
        watched = open_page(browser)
        page = watched.page
        page.goto(f"{url}/#!/model/{FCT_DONATIONS}")
        expect(page.get_by_text("fct_donations").first).to_be_visible(timeout=LOAD_MS)
        page.get_by_title("View Lineage Graph").click()
        page.wait_for_function(
            f"() => ({LINEAGE_JS})().nodes.includes('{FCT_DONATIONS}')", timeout=LOAD_MS
        )
        lineage: dict[str, Any] = page.evaluate(LINEAGE_JS)
        page.get_by_title("View Fullscreen").first.click()
        page.wait_for_timeout(1000)  # the graph's layout animation; only for the picture
        page.screenshot(path=screenshot_dir() / "lineage-fct_donations.png")
        errors = watched.console_errors(ignore=DBT_DOCS_TEMPLATE_404S)
    manifest = json.loads((served.dbt_target_dir / "manifest.json").read_text())
    upstream = [p for p in manifest["parent_map"][FCT_DONATIONS] if p.startswith("model.")]
    assert len(upstream) >= 2
    edges = {tuple(edge) for edge in lineage["edges"]}
    assert {(parent, FCT_DONATIONS) for parent in upstream} <= edges
    assert set(upstream) <= set(lineage["nodes"])
    assert errors == []

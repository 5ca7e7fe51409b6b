"""Operations: source-to-dashboard freshness per refresh against the two-minute line, landing
lag, dbt's per-node results of the latest refresh and their trend, quarantine, DQ."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ingestion.serving.dashboards.availability import show_availability
from ingestion.serving.dashboards.common import (
    FRESHNESS_TARGET_SECONDS,
    chart,
    measures_over_time,
    query,
    settings,
    table,
)

# The slowest nodes shown for the latest refresh.
SLOWEST_NODES = 10

st.title("Operations")
show_availability()

freshness = query(
    """
    select
        refreshed_at,
        -- Source to dashboard: emitted_at to the publish that made the refresh visible.
        dashboard_freshness_p50_seconds as freshness_p50_seconds,
        dashboard_freshness_p95_seconds as freshness_p95_seconds,
        landing_lag_p50_seconds,
        landing_lag_max_seconds,
        donation_count,
        event_count
    from ops.pipeline_freshness
    where donation_count > 0
    order by refreshed_at
    """
)
if not freshness.empty:
    latest = freshness.iloc[-1]
    p95, refreshes = st.columns(2)
    p95.metric(
        "Freshness P95, latest refresh",
        f"{latest.freshness_p95_seconds:,.1f} s",
        help=f"objective: {FRESHNESS_TARGET_SECONDS:.0f} s source to dashboard",
    )
    refreshes.metric("Refreshes with new gifts", f"{len(freshness):,}")
percentiles = freshness.melt(
    id_vars="refreshed_at",
    value_vars=["freshness_p50_seconds", "freshness_p95_seconds"],
    var_name="percentile",
    value_name="seconds",
)
chart(
    "Freshness per refresh: emitted_at to the dashboards",
    freshness,
    alt.layer(
        alt.Chart(percentiles)
        .mark_line(point=True)
        .encode(
            x=alt.X("refreshed_at:T", title="refresh"),
            y=alt.Y("seconds:Q", title="seconds"),
            color=alt.Color("percentile:N", title=None),
        ),
        alt.Chart()
        .mark_rule(color="red", strokeDash=[6, 3])
        .encode(y=alt.datum(FRESHNESS_TARGET_SECONDS)),
    ),
)
measures_over_time(
    "Landing lag per refresh: Kinesis arrival to landing",
    freshness,
    "refreshed_at",
    ["landing_lag_p50_seconds", "landing_lag_max_seconds"],
)

# Per-node results of the kept refreshes (ingestion/operations/node_results.py); absent until a
# refresh has recorded one.
has_node_results = not query(
    """
    select table_name from information_schema.tables
    where table_schema = 'ops' and table_name = 'dbt_node_results'
    """
).empty
if has_node_results:
    latest_nodes = query(
        """
        select node_name, resource_type, status, execution_seconds, rows_affected
        from ops.dbt_node_results
        where built_at = (select max(built_at) from ops.dbt_node_results)
        order by execution_seconds desc
        """
    )
    failed_nodes = latest_nodes[latest_nodes.status.isin(["error", "fail", "warn"])]
    built, failed, slowest = st.columns(3)
    built.metric("dbt nodes, latest refresh", f"{len(latest_nodes):,}")
    failed.metric("Failed or warned nodes, latest refresh", f"{len(failed_nodes):,}")
    slowest.metric("Node seconds, latest refresh", f"{latest_nodes.execution_seconds.sum():,.1f} s")
    table("Failed and warned nodes, latest refresh", failed_nodes)
    table(f"Slowest {SLOWEST_NODES} nodes, latest refresh", latest_nodes.head(SLOWEST_NODES))
    per_refresh = query(
        """
        select
            built_at,
            sum(execution_seconds) as node_seconds,
            max(execution_seconds) as slowest_node_seconds
        from ops.dbt_node_results
        group by built_at
        order by built_at
        """
    )
    measures_over_time(
        "dbt node seconds per refresh",
        per_refresh,
        "built_at",
        ["node_seconds", "slowest_node_seconds"],
    )

quarantine = query(
    """
    select quarantine_reason, reason_code, record_count, last_landed_at
    from ops.agg_quarantine_reasons
    order by record_count desc
    """
)
chart(
    "Quarantined records by reason",
    quarantine,
    alt.Chart(quarantine)
    .mark_bar()
    .encode(
        x=alt.X("record_count:Q", title="records"),
        y=alt.Y("quarantine_reason:N", sort="-x", title=None),
        color=alt.Color("reason_code:N", title="code"),
    ),
)

if settings().dbt_target == "local":
    table(
        "Data-quality and reconcile failures (local alert sink)",
        query(
            """
            select raised_at, dag_id, task_id, summary, measured, threshold, runbook
            from ops.alerts
            order by raised_at desc
            """
        ),
    )
else:
    st.subheader("Data-quality and reconcile failures")
    st.caption("In AWS they are alerts on the SNS topic (docs/runbooks.md), not warehouse rows.")

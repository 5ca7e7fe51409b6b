"""Operations: freshness per refresh against the two-minute line, landing lag, quarantine, DQ."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ingestion.serving.dashboards.availability import show_availability
from ingestion.serving.dashboards.common import (
    FRESHNESS_TARGET_SECONDS,
    chart,
    query,
    settings,
    table,
)

st.title("Operations")
show_availability()

freshness = query(
    """
    select
        refreshed_at,
        freshness_p50_seconds,
        freshness_p95_seconds,
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
    "Freshness per refresh: emitted_at to fct_donations",
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
lag = freshness.melt(
    id_vars="refreshed_at",
    value_vars=["landing_lag_p50_seconds", "landing_lag_max_seconds"],
    var_name="measure",
    value_name="seconds",
)
chart(
    "Landing lag per refresh: Kinesis arrival to landing",
    freshness,
    alt.Chart(lag)
    .mark_line(point=True)
    .encode(
        x=alt.X("refreshed_at:T", title="refresh"),
        y=alt.Y("seconds:Q"),
        color=alt.Color("measure:N", title=None),
    ),
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

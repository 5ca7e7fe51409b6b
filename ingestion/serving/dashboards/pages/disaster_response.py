"""Disaster response: food on hand and days of supply, distributions and households, open orders."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ingestion.serving.dashboards.common import chart, query, table

st.title("Disaster response")

totals = query(
    """
    select
        (select coalesce(sum(households_served), 0) from marts.agg_distribution_daily)
            as households,
        (select count(*) from marts.rpt_open_partner_orders) as open_orders
    """
).iloc[0]
households, open_orders = st.columns(2)
households.metric("Households served", f"{int(totals.households):,}")
open_orders.metric("Open partner orders", f"{int(totals.open_orders):,}")

on_hand = query(
    """
    select
        site_id,
        category,
        cast(on_hand_lbs as double precision) as on_hand_lbs,
        cast(days_of_supply as double precision) as days_of_supply
    from marts.agg_inventory_on_hand
    order by site_id, category
    """
)
chart(
    "On hand by site and category (lbs)",
    on_hand,
    alt.Chart(on_hand)
    .mark_bar()
    .encode(
        x=alt.X("sum(on_hand_lbs):Q", title="lbs on hand"),
        y=alt.Y("site_id:N", title=None),
        color=alt.Color("category:N"),
        tooltip=["site_id", "category", "on_hand_lbs", "days_of_supply"],
    ),
)
chart(
    "Days of supply by site and category",
    on_hand,
    alt.Chart(on_hand)
    .mark_rect()
    .encode(
        x=alt.X("category:N", title=None),
        y=alt.Y("site_id:N", title=None),
        color=alt.Color(
            "days_of_supply:Q", scale=alt.Scale(scheme="redyellowgreen", domain=[0, 14])
        ),
        tooltip=["site_id", "category", "days_of_supply", "on_hand_lbs"],
    ),
)

daily = query(
    """
    select
        service_date,
        partner_id,
        cast(sum(households_served) as bigint) as households_served,
        cast(sum(lbs_distributed) as double precision) as lbs_distributed
    from marts.agg_distribution_daily
    group by 1, 2
    order by 1, 2
    """
)
chart(
    "Households served by day and partner",
    daily,
    alt.Chart(daily)
    .mark_bar()
    .encode(
        x=alt.X("service_date:T", title="service date"),
        y=alt.Y("households_served:Q", title="households"),
        color=alt.Color("partner_id:N", title="partner"),
        tooltip=["service_date", "partner_id", "households_served", "lbs_distributed"],
    ),
)
chart(
    "Pounds distributed by day",
    daily,
    alt.Chart(daily)
    .mark_line(point=True)
    .encode(
        x=alt.X("service_date:T", title="service date"),
        y=alt.Y("sum(lbs_distributed):Q", title="lbs"),
    ),
)

orders = query(
    """
    select
        order_id, partner_id, site_id,
        cast(requested_lbs as double precision) as requested_lbs,
        cast(unfilled_lbs as double precision) as unfilled_lbs,
        needed_by, ordered_at
    from marts.rpt_open_partner_orders
    order by needed_by, order_id
    """
)
chart(
    "Open orders: unfilled lbs by partner",
    orders,
    alt.Chart(orders)
    .mark_bar()
    .encode(
        x=alt.X("sum(unfilled_lbs):Q", title="unfilled lbs"),
        y=alt.Y("partner_id:N", sort="-x", title=None),
        color=alt.Color("site_id:N", title="site"),
    ),
)
table("Open orders", orders)

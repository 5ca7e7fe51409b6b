"""Fundraising: campaign progress against goal, gifts and net by hour or day, recurring share."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ingestion.serving.dashboards.common import chart, query

st.title("Fundraising")

totals = query(
    """
    select
        count(*) as gifts,
        coalesce(sum(net_amount_cents), 0) / 100.0 as net_dollars,
        count(distinct donor_id) as donors,
        coalesce(avg(case when is_recurring then 1.0 else 0.0 end), 0) as recurring_share
    from marts.fct_donations
    """
).iloc[0]
gifts, net, donors, recurring = st.columns(4)
gifts.metric("Gifts", f"{int(totals.gifts):,}")
net.metric("Net raised", f"${totals.net_dollars:,.2f}")
donors.metric("Donors", f"{int(totals.donors):,}")
recurring.metric("Recurring share", f"{totals.recurring_share:.1%}")

progress = query(
    """
    select
        campaign_name,
        cast(goal_cents / 100.0 as double precision) as goal_dollars,
        cast(net_amount_cents / 100.0 as double precision) as net_dollars,
        cast(goal_fraction as double precision) as goal_fraction,
        gift_count,
        last_hour_gift_count
    from marts.agg_campaign_progress
    order by goal_fraction desc
    """
)
bars = (
    alt.Chart(progress)
    .mark_bar()
    .encode(
        x=alt.X("goal_fraction:Q", title="share of goal raised (net)", axis=alt.Axis(format="%")),
        y=alt.Y("campaign_name:N", sort="-x", title=None),
        tooltip=["campaign_name", "net_dollars", "goal_dollars", "gift_count"],
    )
)
goal_line = alt.Chart().mark_rule(color="red").encode(x=alt.datum(1.0))
chart("Campaign progress vs goal", progress, alt.layer(bars, goal_line))

grain = st.radio("Gifts and net by", ["hour", "day"], horizontal=True)
by_time = query(
    f"""
    select
        date_trunc('{grain}', donated_at) as period,
        count(*) as gifts,
        cast(sum(net_amount_cents) / 100.0 as double precision) as net_dollars
    from marts.fct_donations
    group by 1
    order by 1
    """  # noqa: S608 - grain is one of the radio's two fixed values
)
base = alt.Chart(by_time).encode(x=alt.X("period:T", title=grain))
chart(
    f"Gifts and net by {grain}",
    by_time,
    alt.layer(
        base.mark_bar(opacity=0.5).encode(y=alt.Y("gifts:Q", title="gifts")),
        base.mark_line(color="darkgreen").encode(y=alt.Y("net_dollars:Q", title="net $")),
    ).resolve_scale(y="independent"),
)

recurring_by_campaign = query(
    """
    select
        campaigns.campaign_name,
        case when donations.is_recurring then 'recurring' else 'one-time' end as kind,
        count(*) as gifts
    from marts.fct_donations as donations
    inner join marts.dim_campaigns as campaigns
        on donations.campaign_id = campaigns.campaign_id
    group by 1, 2
    """
)
chart(
    "Recurring share by campaign",
    recurring_by_campaign,
    alt.Chart(recurring_by_campaign)
    .mark_bar()
    .encode(
        x=alt.X(
            "sum(gifts):Q", stack="normalize", title="share of gifts", axis=alt.Axis(format="%")
        ),
        y=alt.Y("campaign_name:N", title=None),
        color=alt.Color("kind:N", title=None),
    ),
)

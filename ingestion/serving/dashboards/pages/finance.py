"""Finance: the daily close, settlement reconciliation statuses and what is left unreconciled."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ingestion.serving.dashboards.common import chart, query, table

st.title("Finance")

counts = query(
    """
    select
        count(*) as transactions,
        coalesce(sum(case when reconciliation_status = 'matched' then 0 else 1 end), 0)
            as unreconciled
    from marts.rpt_settlement_reconciliation
    """
).iloc[0]
transactions, unreconciled_count = st.columns(2)
transactions.metric("Processor transactions", f"{int(counts.transactions):,}")
unreconciled_count.metric("Unreconciled", f"{int(counts.unreconciled):,}")

close = query(
    """
    select
        close_date,
        gift_count,
        refund_count,
        cast(net_amount_cents / 100.0 as double precision) as net_dollars,
        cast(settled_net_cents / 100.0 as double precision) as settled_net_dollars,
        cast(fee_cents / 100.0 as double precision) as fee_dollars,
        unreconciled_count
    from marts.rpt_daily_close
    order by close_date
    """
)
long_close = close.melt(
    id_vars="close_date", value_vars=["net_dollars", "settled_net_dollars"], var_name="measure"
)
chart(
    "Daily close: posted net vs settled net",
    close,
    alt.Chart(long_close)
    .mark_bar()
    .encode(
        x=alt.X("yearmonthdate(close_date):O", title="close date"),
        xOffset="measure:N",
        y=alt.Y("value:Q", title="$"),
        color=alt.Color("measure:N", title=None),
    ),
)
table("Daily close", close)

statuses = query(
    """
    select reconciliation_status, count(*) as transactions
    from marts.rpt_settlement_reconciliation
    group by 1
    order by 2 desc
    """
)
chart(
    "Reconciliation statuses",
    statuses,
    alt.Chart(statuses)
    .mark_bar()
    .encode(
        x=alt.X("transactions:Q"),
        y=alt.Y("reconciliation_status:N", sort="-x", title=None),
        color=alt.Color("reconciliation_status:N", legend=None),
    ),
)

unreconciled = query(
    """
    select
        reconciliation_status,
        count(*) as transactions,
        cast(sum(coalesce(donation_gross_cents, 0)) / 100.0 as double precision)
            as donation_gross_dollars,
        cast(sum(coalesce(settlement_gross_cents, 0)) / 100.0 as double precision)
            as settlement_gross_dollars,
        cast(sum(gross_difference_cents) / 100.0 as double precision) as difference_dollars
    from marts.rpt_settlement_reconciliation
    where reconciliation_status <> 'matched'
    group by 1
    order by 1
    """
)
chart(
    "Unreconciled amounts by status",
    unreconciled,
    alt.Chart(unreconciled)
    .mark_bar()
    .encode(
        x=alt.X("difference_dollars:Q", title="settlement minus donation, $"),
        y=alt.Y("reconciliation_status:N", title=None),
        tooltip=list(unreconciled.columns),
    ),
)
table(
    "Unreconciled transactions",
    query(
        """
        select
            processor, processor_txn_id, donation_id, reconciliation_status,
            donation_gross_cents, settlement_gross_cents, gross_difference_cents, donated_at
        from marts.rpt_settlement_reconciliation
        where reconciliation_status <> 'matched'
        order by abs(gross_difference_cents) desc, processor_txn_id
        limit 200
        """
    ),
)

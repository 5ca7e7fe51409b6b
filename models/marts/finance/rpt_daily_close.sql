{#-
    The daily close finance signs off: per UTC day, gifts, refunds and fees posted to the
    ledger, the net, what the processors settled that day, how many settlement legs do not
    reconcile yet and how many are still pending (inside the processor's settlement delay, not
    a break). These are the live figures; a closed day's signed-off figures, and every change
    after its close, are in marts.rpt_closed_days (macros/finance/close.sql).
    Cursors: `ledger_batch` (fct_donation_ledger's landed_batch) and `reconciled_pass`
    (rpt_settlement_reconciliation's): a pass recomputes whole the days a part of the ledger
    (int_ledger_daily, per day and batch) or a re-reconciled leg falls on. The postings are
    summed from the day's parts, not its entries; the legs are read whole for those days. The
    days a settlement correction moved a leg away from are recomputed too
    (lander.reconciliation_departures, macros/finance/settlement_corrections.sql); a touched day
    left with nothing posted and no leg is deleted (post-hook), as a full build has no row for it.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='close_date',
        post_hook="delete from {{ this }} where ledger_batch is null and reconciled_pass = 0",
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set ledger_cursor = batch_cursor('ledger_batch') -%}
    {%- set reconciliation_cursor = batch_cursor('reconciled_pass') -%}
    {%- set departed_dates = reconciliation_departed_dates(reconciliation_cursor) -%}
{%- endif %}

with

ledger_parts as (

    select * from {{ ref('int_ledger_daily') }}

),

reconciliation as {{ inlined() }} (

    select
        *,
        cast(settled_at as date) as settled_date,
        cast(coalesce(donated_at, settled_at) as date) as leg_date
    from {{ ref('rpt_settlement_reconciliation') }}

),

{% if incremental %}
touched_dates as (

    select entry_date as close_date from ledger_parts
    where computed_batch > {{ ledger_cursor }}

    union

    select settled_date from reconciliation
    where reconciled_pass > {{ reconciliation_cursor }} and settled_date is not null

    union

    select leg_date from reconciliation
    where reconciled_pass > {{ reconciliation_cursor }}
    {% for day in departed_dates %}

    union

    select {{ day }}
    {%- endfor %}

),
{% endif %}

posted as (

    select
        entry_date as close_date,
        cast(sum(gross_amount_cents) as bigint) as gross_amount_cents,
        cast(sum(refunded_amount_cents) as bigint) as refunded_amount_cents,
        cast(sum(fee_cents) as bigint) as fee_cents,
        cast(sum(gift_count) as bigint) as gift_count,
        cast(sum(refund_count) as bigint) as refund_count,
        max(case when entry_count > 0 then landed_batch end) as ledger_batch
    from ledger_parts
    {% if incremental %}
    where entry_date in (select close_date from touched_dates)
    {% endif %}
    group by entry_date

),

settled as (

    select
        settled_date as close_date,
        cast(sum(settlement_net_cents) as bigint) as settled_net_cents,
        max(reconciled_pass) as reconciled_pass
    from reconciliation
    where settled_date is not null
    {% if incremental %}
        and settled_date in (select close_date from touched_dates)
    {% endif %}
    group by settled_date

),

open_legs as (

    select
        leg_date as close_date,
        cast(sum(case when reconciliation_status not in ('matched', 'pending') then 1 else 0 end) as bigint)
            as unreconciled_count,
        cast(sum(case when reconciliation_status = 'pending' then 1 else 0 end) as bigint)
            as pending_count,
        max(reconciled_pass) as reconciled_pass
    from reconciliation
    {% if incremental %}
    where leg_date in (select close_date from touched_dates)
    {% endif %}
    group by leg_date

),

close_dates as (

    select close_date from posted
    union
    select close_date from settled
    union
    select close_date from open_legs
    {% if incremental %}
    union
    select close_date from touched_dates
    {% endif %}

),

final as (

    select
        close_dates.close_date,
        cast(coalesce(posted.gift_count, 0) as bigint) as gift_count,
        cast(coalesce(posted.refund_count, 0) as bigint) as refund_count,
        cast(coalesce(posted.gross_amount_cents, 0) as bigint) as gross_amount_cents,
        cast(coalesce(posted.refunded_amount_cents, 0) as bigint) as refunded_amount_cents,
        cast(coalesce(posted.fee_cents, 0) as bigint) as fee_cents,
        cast(
            coalesce(posted.gross_amount_cents, 0) - coalesce(posted.refunded_amount_cents, 0)
            as bigint
        ) as net_amount_cents,
        cast(coalesce(settled.settled_net_cents, 0) as bigint) as settled_net_cents,
        cast(coalesce(open_legs.unreconciled_count, 0) as bigint) as unreconciled_count,
        cast(coalesce(open_legs.pending_count, 0) as bigint) as pending_count,
        cast(posted.ledger_batch as bigint) as ledger_batch,
        cast(
            greatest(coalesce(settled.reconciled_pass, 0), coalesce(open_legs.reconciled_pass, 0))
            as bigint
        ) as reconciled_pass
    from close_dates
    left join posted
        on close_dates.close_date = posted.close_date
    left join settled
        on close_dates.close_date = settled.close_date
    left join open_legs
        on close_dates.close_date = open_legs.close_date

)

select * from final

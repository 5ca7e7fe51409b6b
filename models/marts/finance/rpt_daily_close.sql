{#-
    The daily close finance signs off: per UTC day, gifts, refunds and fees posted to the
    ledger, the net, what the processors settled that day, and how many transactions do not
    reconcile yet.
-#}
with

ledger as (

    select * from {{ ref('fct_donation_ledger') }}

),

reconciliation as (

    select * from {{ ref('rpt_settlement_reconciliation') }}

),

posted as (

    select
        entry_date as close_date,
        cast(sum(case when entry_type = 'gift' then amount_cents else 0 end) as bigint) as gross_amount_cents,
        cast(-sum(case when entry_type = 'refund' then amount_cents else 0 end) as bigint) as refunded_amount_cents,
        cast(-sum(case when entry_type = 'fee' then amount_cents else 0 end) as bigint) as fee_cents,
        cast(sum(case when entry_type = 'gift' then 1 else 0 end) as bigint) as gift_count,
        cast(sum(case when entry_type = 'refund' then 1 else 0 end) as bigint) as refund_count
    from ledger
    group by entry_date

),

settled as (

    select
        cast(settled_at as date) as close_date,
        cast(sum(settlement_net_cents) as bigint) as settled_net_cents
    from reconciliation
    where settled_at is not null
    group by cast(settled_at as date)

),

unreconciled as (

    select
        cast(coalesce(donated_at, settled_at) as date) as close_date,
        cast(count(*) as bigint) as unreconciled_count
    from reconciliation
    where reconciliation_status <> 'matched'
    group by cast(coalesce(donated_at, settled_at) as date)

),

close_dates as (

    select close_date from posted
    union
    select close_date from settled
    union
    select close_date from unreconciled

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
        cast(coalesce(unreconciled.unreconciled_count, 0) as bigint) as unreconciled_count
    from close_dates
    left join posted
        on close_dates.close_date = posted.close_date
    left join settled
        on close_dates.close_date = settled.close_date
    left join unreconciled
        on close_dates.close_date = unreconciled.close_date

)

select * from final

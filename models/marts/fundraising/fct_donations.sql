{#-
    One row per gift. A gift re-sent under a new event_id counts once (the earliest emitted_at
    wins); refunds are distinct by refund_id and apply whichever arrives first, the gift or the
    refund. Each pass recomputes, from all staged history, only the gifts that something new
    touched: a new gift event, or a new refund of the gift.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='donation_id',
        dist='donation_id',
        sort=['donated_at'],
    )
}}

with

donations as (

    select * from {{ ref('stg_donation_platform__donations') }}

),

refunds as (

    select * from {{ ref('stg_donation_platform__refunds') }}

),

{% if is_incremental() %}
touched_donations as (

    select donation_id from donations
    where landed_at > {{ incremental_watermark('last_landed_at') }}
    union
    select donation_id from refunds
    where landed_at > {{ incremental_watermark('last_landed_at') }}

),
{% endif %}

winning_gifts as (

    select *
    from donations
    {% if is_incremental() %}
    where donation_id in (select donation_id from touched_donations)
    {% endif %}
    qualify row_number() over (
        partition by donation_id
        order by emitted_at, event_id
    ) = 1

),

distinct_refunds as (

    select *
    from refunds
    where donation_id in (select donation_id from winning_gifts)
    qualify row_number() over (
        partition by refund_id
        order by emitted_at, event_id
    ) = 1

),

refund_totals as (

    select
        donation_id,
        cast(sum(amount_cents) as bigint) as refunded_amount_cents,
        count(*) as refund_count,
        max(landed_at) as last_refund_landed_at
    from distinct_refunds
    group by donation_id

),

{% if is_incremental() %}
previous_loads as (

    select donation_id, first_loaded_at from {{ this }}

),
{% endif %}

final as (

    select
        -- keys
        winning_gifts.donation_id,
        winning_gifts.event_id,
        winning_gifts.donor_id,
        winning_gifts.campaign_id,
        winning_gifts.processor_txn_id,

        -- attributes
        winning_gifts.designation,
        winning_gifts.channel,
        winning_gifts.payment_method,
        winning_gifts.processor,
        winning_gifts.currency,

        -- amounts, in cents
        winning_gifts.amount_cents as gross_amount_cents,
        cast(coalesce(refund_totals.refunded_amount_cents, 0) as bigint) as refunded_amount_cents,
        cast(
            winning_gifts.amount_cents - coalesce(refund_totals.refunded_amount_cents, 0)
            as bigint
        ) as net_amount_cents,
        winning_gifts.fee_cents,

        -- flags
        winning_gifts.is_recurring,
        coalesce(refund_totals.refund_count, 0) > 0 as is_refunded,

        -- timestamps (UTC)
        winning_gifts.donated_at,
        winning_gifts.emitted_at,
        greatest(
            winning_gifts.landed_at,
            coalesce(refund_totals.last_refund_landed_at, winning_gifts.landed_at)
        ) as last_landed_at,
        {% if is_incremental() %}
        coalesce(previous_loads.first_loaded_at, {{ to_utc_timestamp(dbt.current_timestamp()) }})
        {% else %}
        {{ to_utc_timestamp(dbt.current_timestamp()) }}
        {% endif %} as first_loaded_at,

        -- trace back to the stream
        winning_gifts.shard_id,
        winning_gifts.sequence_number

    from winning_gifts
    left join refund_totals
        on winning_gifts.donation_id = refund_totals.donation_id
    {% if is_incremental() %}
    left join previous_loads
        on winning_gifts.donation_id = previous_loads.donation_id
    {% endif %}

)

select * from final

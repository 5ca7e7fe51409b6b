{#-
    `donation.refunded` events, one row per event_id; a refund may arrive before its gift.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'donation.refunded'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.refund_id') }} as refund_id,
        {{ json_field('record', 'payload.donation_id') }} as donation_id,

        -- strings
        {{ json_field('record', 'payload.reason') }} as reason,

        -- numerics
        {{ json_typed('record', 'payload.amount_cents', 'bigint') }} as amount_cents,

        -- timestamps
        occurred_at as refunded_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

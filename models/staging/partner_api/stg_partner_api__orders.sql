{#-
    `partner.order_placed` events, one row per event_id: a partner agency asking for food.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'partner.order_placed'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.order_id') }} as order_id,
        {{ json_field('record', 'payload.partner_id') }} as partner_id,
        {{ json_field('record', 'payload.site_id') }} as site_id,

        -- numerics
        {{ json_typed('record', 'payload.requested_lbs', 'decimal(18, 3)') }} as requested_lbs,

        -- dates
        {{ json_typed('record', 'payload.needed_by', 'date') }} as needed_by,

        -- timestamps
        occurred_at as ordered_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

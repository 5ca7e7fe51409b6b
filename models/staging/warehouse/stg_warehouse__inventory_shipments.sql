{#-
    `inventory.shipped` events, one row per event_id: food leaving a site for a partner.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.shipped'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.shipment_id') }} as shipment_id,
        {{ json_field('record', 'payload.site_id') }} as site_id,
        {{ json_field('record', 'payload.partner_id') }} as partner_id,
        {{ json_field('record', 'payload.sku') }} as sku,

        -- strings
        {{ json_field('record', 'payload.category') }} as category,

        -- numerics
        {{ json_typed('record', 'payload.lbs', 'decimal(18, 3)') }} as lbs,

        -- timestamps
        occurred_at as shipped_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

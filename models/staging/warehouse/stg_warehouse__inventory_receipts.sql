{#-
    `inventory.received` events, one row per event_id: food arriving at a site.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.received'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.receipt_id') }} as receipt_id,
        {{ json_field('record', 'payload.site_id') }} as site_id,
        {{ json_field('record', 'payload.sku') }} as sku,

        -- strings
        {{ json_field('record', 'payload.category') }} as category,
        {{ json_field('record', 'payload.acquisition') }} as acquisition,

        -- numerics
        {{ json_typed('record', 'payload.lbs', 'decimal(18, 3)') }} as lbs,
        {{ json_typed('record', 'payload.value_cents', 'bigint') }} as value_cents,

        -- timestamps
        occurred_at as received_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

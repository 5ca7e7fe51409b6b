{#-
    `inventory.adjusted` events, one row per event_id: counted corrections, spoilage, transfers.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.adjusted'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.adjustment_id') }} as adjustment_id,
        {{ json_field('record', 'payload.site_id') }} as site_id,
        {{ json_field('record', 'payload.sku') }} as sku,

        -- strings
        {{ json_field('record', 'payload.category') }} as category,
        {{ json_field('record', 'payload.reason') }} as reason,

        -- numerics
        {{ json_typed('record', 'payload.lbs_delta', 'decimal(18, 3)') }} as lbs_delta,

        -- timestamps
        occurred_at as adjusted_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

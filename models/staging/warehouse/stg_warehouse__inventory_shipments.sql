{#-
    `inventory.shipped` events, one row per event_id: food leaving a site for a partner.
-#}
{%- set json_paths = [
    'payload.shipment_id',
    'payload.site_id',
    'payload.partner_id',
    'payload.sku',
    'payload.category',
    'payload.lbs',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.shipped'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.shipment_id', json_paths) }} as shipment_id,
        {{ json_pick('record', 'payload.site_id', json_paths) }} as site_id,
        {{ json_pick('record', 'payload.partner_id', json_paths) }} as partner_id,
        {{ json_pick('record', 'payload.sku', json_paths) }} as sku,

        -- strings
        {{ json_pick('record', 'payload.category', json_paths) }} as category,

        -- numerics
        {{ json_pick_typed('record', 'payload.lbs', json_paths, 'decimal(18, 3)') }} as lbs,

        -- timestamps
        occurred_at as shipped_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

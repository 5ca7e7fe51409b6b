{#-
    `inventory.received` events, one row per event_id: food arriving at a site.
-#}
{%- set json_paths = [
    'payload.receipt_id',
    'payload.site_id',
    'payload.sku',
    'payload.category',
    'payload.acquisition',
    'payload.lbs',
    'payload.value_cents',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.received'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.receipt_id', json_paths) }} as receipt_id,
        {{ json_pick('record', 'payload.site_id', json_paths) }} as site_id,
        {{ json_pick('record', 'payload.sku', json_paths) }} as sku,

        -- strings
        {{ json_pick('record', 'payload.category', json_paths) }} as category,
        {{ json_pick('record', 'payload.acquisition', json_paths) }} as acquisition,

        -- numerics
        {{ json_pick_typed('record', 'payload.lbs', json_paths, 'decimal(18, 3)') }} as lbs,
        {{ json_pick_typed('record', 'payload.value_cents', json_paths, 'bigint') }} as value_cents,

        -- timestamps
        occurred_at as received_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

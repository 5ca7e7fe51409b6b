{#-
    `inventory.adjusted` events, one row per event_id: counted corrections, spoilage, transfers.
-#}
{%- set json_paths = [
    'payload.adjustment_id',
    'payload.site_id',
    'payload.sku',
    'payload.category',
    'payload.reason',
    'payload.lbs_delta',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'inventory.adjusted'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.adjustment_id', json_paths) }} as adjustment_id,
        {{ json_pick('record', 'payload.site_id', json_paths) }} as site_id,
        {{ json_pick('record', 'payload.sku', json_paths) }} as sku,

        -- strings
        {{ json_pick('record', 'payload.category', json_paths) }} as category,
        {{ json_pick('record', 'payload.reason', json_paths) }} as reason,

        -- numerics
        {{ json_pick_typed('record', 'payload.lbs_delta', json_paths, 'decimal(18, 3)') }} as lbs_delta,

        -- timestamps
        occurred_at as adjusted_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

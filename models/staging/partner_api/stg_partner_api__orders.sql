{#-
    `partner.order_placed` events, one row per event_id: a partner agency asking for food.
-#}
{%- set json_paths = [
    'payload.order_id',
    'payload.partner_id',
    'payload.site_id',
    'payload.requested_lbs',
    'payload.needed_by',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'partner.order_placed'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.order_id', json_paths) }} as order_id,
        {{ json_pick('record', 'payload.partner_id', json_paths) }} as partner_id,
        {{ json_pick('record', 'payload.site_id', json_paths) }} as site_id,

        -- numerics
        {{ json_pick_typed('record', 'payload.requested_lbs', json_paths, 'decimal(18, 3)') }} as requested_lbs,

        -- dates
        {{ json_pick_typed('record', 'payload.needed_by', json_paths, 'date') }} as needed_by,

        -- timestamps
        occurred_at as ordered_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

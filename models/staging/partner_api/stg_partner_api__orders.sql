{#-
    `partner.order_placed` events, one row per event_id: a partner agency asking for food.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'partner.order_placed'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
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
        cast({{ json_field('record', 'payload.requested_lbs') }} as decimal(18, 3)) as requested_lbs,

        -- dates
        cast({{ json_field('record', 'payload.needed_by') }} as date) as needed_by,

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

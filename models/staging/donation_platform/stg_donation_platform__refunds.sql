{#-
    `donation.refunded` events, one row per event_id; a refund may arrive before its gift.
-#}
{%- set json_paths = [
    'payload.refund_id',
    'payload.donation_id',
    'payload.reason',
    'payload.amount_cents',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'donation.refunded'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.refund_id', json_paths) }} as refund_id,
        {{ json_pick('record', 'payload.donation_id', json_paths) }} as donation_id,

        -- strings
        {{ json_pick('record', 'payload.reason', json_paths) }} as reason,

        -- numerics
        {{ json_pick_typed('record', 'payload.amount_cents', json_paths, 'bigint') }} as amount_cents,

        -- timestamps
        occurred_at as refunded_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

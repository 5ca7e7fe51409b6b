{#-
    `crm.donor_upserted` events, one row per event_id: every CRM version of a donor. Holds PII
    (name, email, postal code); only hashed or dropped downstream.
-#}
{%- set json_paths = [
    'payload.donor_id',
    'payload.name',
    'payload.email',
    'payload.postal_code',
    'payload.is_major_donor',
    'payload.updated_at',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'crm.donor_upserted'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.donor_id', json_paths) }} as donor_id,

        -- strings
        {{ json_pick('record', 'payload.name', json_paths) }} as name,
        {{ json_pick('record', 'payload.email', json_paths) }} as email,
        {{ json_pick('record', 'payload.postal_code', json_paths) }} as postal_code,

        -- booleans
        {{ json_pick_typed('record', 'payload.is_major_donor', json_paths, 'boolean') }} as is_major_donor,

        -- timestamps at the source
        {{ json_timestamp(json_pick('record', 'payload.updated_at', json_paths)) }} as updated_at,

        -- timestamps
        occurred_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

{#-
    `crm.donor_upserted` events, one row per event_id: every CRM version of a donor. Holds PII
    (name, email, postal code); only hashed or dropped downstream.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'crm.donor_upserted'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.donor_id') }} as donor_id,

        -- strings
        {{ json_field('record', 'payload.name') }} as name,
        {{ json_field('record', 'payload.email') }} as email,
        {{ json_field('record', 'payload.postal_code') }} as postal_code,

        -- booleans
        {{ json_typed('record', 'payload.is_major_donor', 'boolean') }} as is_major_donor,

        -- timestamps at the source
        {{ json_timestamp(json_field('record', 'payload.updated_at')) }} as updated_at,

        -- timestamps
        occurred_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

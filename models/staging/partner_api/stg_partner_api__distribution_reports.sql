{#-
    `partner.distribution_reported` events, one row per event_id: what a partner handed out.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'partner.distribution_reported'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.report_id') }} as report_id,
        {{ json_field('record', 'payload.partner_id') }} as partner_id,

        -- strings
        {{ json_field('record', 'payload.postal_code') }} as postal_code,

        -- numerics
        {{ json_typed('record', 'payload.households_served', 'bigint') }} as households_served,
        {{ json_typed('record', 'payload.individuals_served', 'bigint') }} as individuals_served,
        {{ json_typed('record', 'payload.lbs_distributed', 'decimal(18, 3)') }} as lbs_distributed,

        -- dates
        {{ json_typed('record', 'payload.service_date', 'date') }} as service_date,

        -- timestamps
        occurred_at as reported_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

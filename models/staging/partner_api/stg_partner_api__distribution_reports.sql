{#-
    `partner.distribution_reported` events, one row per event_id: what a partner handed out.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'partner.distribution_reported'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
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
        cast({{ json_field('record', 'payload.households_served') }} as bigint) as households_served,
        cast({{ json_field('record', 'payload.individuals_served') }} as bigint) as individuals_served,
        cast({{ json_field('record', 'payload.lbs_distributed') }} as decimal(18, 3)) as lbs_distributed,

        -- dates
        cast({{ json_field('record', 'payload.service_date') }} as date) as service_date,

        -- timestamps
        occurred_at as reported_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

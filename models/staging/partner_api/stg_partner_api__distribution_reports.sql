{#-
    `partner.distribution_reported` events, one row per event_id: what a partner handed out.
-#}
{%- set json_paths = [
    'payload.report_id',
    'payload.partner_id',
    'payload.postal_code',
    'payload.households_served',
    'payload.individuals_served',
    'payload.lbs_distributed',
    'payload.service_date',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'partner.distribution_reported'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.report_id', json_paths) }} as report_id,
        {{ json_pick('record', 'payload.partner_id', json_paths) }} as partner_id,

        -- strings
        {{ json_pick('record', 'payload.postal_code', json_paths) }} as postal_code,

        -- numerics
        {{ json_pick_typed('record', 'payload.households_served', json_paths, 'bigint') }} as households_served,
        {{ json_pick_typed('record', 'payload.individuals_served', json_paths, 'bigint') }} as individuals_served,
        {{ json_pick_typed('record', 'payload.lbs_distributed', json_paths, 'decimal(18, 3)') }} as lbs_distributed,

        -- dates
        {{ json_pick_typed('record', 'payload.service_date', json_paths, 'date') }} as service_date,

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

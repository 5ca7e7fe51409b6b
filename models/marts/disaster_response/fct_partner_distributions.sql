{#-
    One row per distribution report a partner agency filed, counted once however often it was
    delivered or re-sent (the earliest emitted_at wins).
    Cursor: `landed_batch` (macros/batch_cursor.sql): a pass recomputes only the reports a batch
    past the cursor touched, reading their deliveries by report_id. A full refresh of this
    model alone is recorded (record_full_rebuild): agg_distribution_daily then reads it whole.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='report_id',
        dist='partner_id',
        sort=['landed_batch'],
        post_hook="{{ record_full_rebuild() }}",
    )
}}

with

reports as (

    select * from {{ ref('stg_partner_api__distribution_reports') }}

),

{% if is_incremental() %}
touched_reports as (

    select distinct report_id from reports
    where landed_batch > {{ batch_cursor() }}

),
{% endif %}

winning_reports as (

    select
        reports.*,
        max(landed_at) over (partition by report_id) as last_landed_at,
        max(landed_batch) over (partition by report_id) as newest_batch
    from reports as reports
    {% if is_incremental() %}
    where report_id in (select report_id from touched_reports)
    {% endif %}
    qualify row_number() over (
        partition by report_id
        order by emitted_at, event_id
    ) = 1

),

final as (

    select
        -- keys
        report_id,
        event_id,
        partner_id,

        -- attributes
        postal_code,

        -- counts and quantities
        households_served,
        individuals_served,
        cast(lbs_distributed as decimal(18, 3)) as lbs_distributed,

        -- dates and timestamps (UTC)
        service_date,
        reported_at,
        last_landed_at,
        newest_batch as landed_batch

    from winning_reports

)

select * from final

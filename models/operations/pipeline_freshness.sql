{#-
    One row per streaming refresh (dbt invocation): how many events it brought, how fresh the
    donations mart is (seconds from the producer's emitted_at to the gift's first load into
    fct_donations, P50/P95/max) and how long records waited between Kinesis and the landing.
    A log, not a mart: it grows by one row per refresh and a rebuild does not reproduce it.
    `published_at` and the dashboard_freshness columns are null here: the refresh stamps them
    when its gifts become visible where the dashboards read (ingestion/operations/metrics.py,
    stamp_visible), so they measure source to dashboard.
    Cursor: `landed_batch` of the events (macros/batch_cursor.sql), kept as max_landed_batch.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='invocation_id',
    )
}}

with

events as (

    select * from {{ ref('stg_stream__events') }}
    {% if is_incremental() %}
    where landed_batch > {{ batch_cursor('max_landed_batch') }}
    {% endif %}

),

donations as (

    select * from {{ ref('fct_donations') }}
    {% if is_incremental() %}
    where first_loaded_at > (select max(refreshed_at) from {{ this }})
    {% endif %}

),

event_lag as (

    select
        count(*) as event_count,
        max(landed_at) as max_landed_at,
        max(landed_batch) as max_landed_batch,
        percentile_cont(0.5) within group (
            order by {{ dbt.datediff('arrived_at', 'landed_at', 'millisecond') }}
        ) / 1000.0 as landing_lag_p50_seconds,
        max({{ dbt.datediff('arrived_at', 'landed_at', 'millisecond') }}) / 1000.0
            as landing_lag_max_seconds
    from events

),

donation_freshness as (

    select
        count(*) as donation_count,
        percentile_cont(0.5) within group (
            order by {{ dbt.datediff('emitted_at', 'first_loaded_at', 'millisecond') }}
        ) / 1000.0 as freshness_p50_seconds,
        percentile_cont(0.95) within group (
            order by {{ dbt.datediff('emitted_at', 'first_loaded_at', 'millisecond') }}
        ) / 1000.0 as freshness_p95_seconds,
        max({{ dbt.datediff('emitted_at', 'first_loaded_at', 'millisecond') }}) / 1000.0
            as freshness_max_seconds
    from donations

),

final as (

    select
        cast('{{ invocation_id }}' as varchar(64)) as invocation_id,
        {{ to_utc_timestamp(dbt.current_timestamp()) }} as refreshed_at,
        cast(event_lag.event_count as bigint) as event_count,
        cast(donation_freshness.donation_count as bigint) as donation_count,
        cast(donation_freshness.freshness_p50_seconds as double precision) as freshness_p50_seconds,
        cast(donation_freshness.freshness_p95_seconds as double precision) as freshness_p95_seconds,
        cast(donation_freshness.freshness_max_seconds as double precision) as freshness_max_seconds,
        cast(event_lag.landing_lag_p50_seconds as double precision) as landing_lag_p50_seconds,
        cast(event_lag.landing_lag_max_seconds as double precision) as landing_lag_max_seconds,
        {% if is_incremental() %}
        coalesce(event_lag.max_landed_at, (select max(max_landed_at) from {{ this }}))
        {% else %}
        event_lag.max_landed_at
        {% endif %} as max_landed_at,
        cast(
            {% if is_incremental() %}
            coalesce(event_lag.max_landed_batch, {{ batch_cursor('max_landed_batch') }})
            {% else %}
            event_lag.max_landed_batch
            {% endif %} as bigint
        ) as max_landed_batch,
        cast(null as timestamp) as published_at,
        cast(null as double precision) as dashboard_freshness_p50_seconds,
        cast(null as double precision) as dashboard_freshness_p95_seconds
    from event_lag
    cross join donation_freshness

)

select * from final

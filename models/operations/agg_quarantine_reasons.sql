{#-
    Quarantined records by reason and field: what to fix at which producer, and since when.
    Cursor: `landed_batch` (macros/batch_cursor.sql). Counts add and first/last landings are a
    min and a max, so a pass folds the new batches' quarantined records into the standing rows
    of just the reasons they carry.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='quarantine_reason',
    )
}}

{%- set incremental = is_incremental() %}

with

new_records as (

    select
        reason as quarantine_reason,
        reason_code,
        reason_field,
        cast(count(*) as bigint) as record_count,
        min(landed_at) as first_landed_at,
        max(landed_at) as last_landed_at,
        max(landed_batch) as landed_batch
    from {{ ref('quarantined_events') }}
    {% if incremental %}
    where landed_batch > {{ batch_cursor() }}
    {% endif %}
    group by reason, reason_code, reason_field

),

{% if incremental %}
folded as (

    select * from new_records

    union all

    select
        quarantine_reason,
        reason_code,
        reason_field,
        record_count,
        first_landed_at,
        last_landed_at,
        landed_batch
    from {{ this }}
    where quarantine_reason in (select quarantine_reason from new_records)

),
{% else %}
folded as (

    select * from new_records

),
{% endif %}

final as (

    select
        quarantine_reason,
        reason_code,
        reason_field,
        cast(sum(record_count) as bigint) as record_count,
        min(first_landed_at) as first_landed_at,
        max(last_landed_at) as last_landed_at,
        max(landed_batch) as landed_batch
    from folded
    group by quarantine_reason, reason_code, reason_field

)

select * from final

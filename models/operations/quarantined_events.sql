{#- Every landed record that broke the event contract, with why, its raw text and where it sits
    on the stream. One row per stream position: re-reading a record never adds a second row. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['shard_id', 'sequence_number'],
    )
}}

with

records as (

    select * from {{ ref('stg_stream__records') }}
    where not is_valid
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

final as (

    select
        shard_id,
        sequence_number,
        partition_key,
        split_part(quarantine_reason, ':', 1) as reason_code,
        nullif(split_part(quarantine_reason, ':', 2), '') as reason_field,
        quarantine_reason as reason,
        kinesis_data as raw_text,
        arrived_at,
        landed_at,
        {{ dbt.current_timestamp() }} as quarantined_at
    from records

)

select * from final

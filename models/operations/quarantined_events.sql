{#- Every landed record that broke the event contract, with why, its raw text and where it sits
    on the stream. One row per stream position: stg_stream__records holds each once, in one
    batch. Cursor: `landed_batch`, kept in lander.processed_batches (macros/batch_cursor.sql): a
    contract-keeping stream quarantines nothing for days. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        sort=['landed_batch'],
        post_hook=[
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('stg_stream__records')) }}",
        ],
    )
}}

with

records as (

    select * from {{ ref('stg_stream__records') }}
    where not is_valid
    {% if is_incremental() %}
        and landed_batch > {{ processed_batch_cursor() }}
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
        landed_batch,
        {{ dbt.current_timestamp() }} as quarantined_at
    from records

)

select * from final

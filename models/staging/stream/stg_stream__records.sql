{#-
    Every landed record, parsed once and checked against the event contract. A record that
    breaks the contract keeps its raw text and stream position and gets the first violation as
    `quarantine_reason`; nothing is dropped here. One row per stream position.
    Cursor: `landed_batch` (macros/batch_cursor.sql). landed_records holds each position once and
    in one batch, so appending the batches past the cursor never adds a position twice.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        dist='even',
        sort=['landed_batch'],
    )
}}

with

landed as (

    select * from {{ ref('landed_records') }}
    {% if is_incremental() %}
    where landed_batch > {{ batch_cursor() }}
    {% endif %}

),

parsed as (

    {{ parsed_records('landed') }}

),

contract_fields as (

    select
        parsed.*,
        {{ contract_fields() }}
        true as _
    from parsed

),

contract_kinds as (

    select
        contract_fields.*,
        {{ contract_kinds() }}
        true as __
    from contract_fields

),

checked as (

    select
        contract_kinds.*,
        {{ contract_violation() }} as quarantine_reason
    from contract_kinds

),

final as (

    select
        -- stream position: the record's identity
        shard_id,
        sequence_number,
        partition_key,

        -- envelope, typed for records that keep the contract
        case when quarantine_reason is null then {{ json_text('f_event_id') }} end as event_id,
        case when quarantine_reason is null then routed_event_type end as event_type,
        case when quarantine_reason is null then routed_schema_version end as schema_version,
        case when quarantine_reason is null then {{ json_text('f_source') }} end as source,
        case when quarantine_reason is null then {{ json_timestamp(json_text('f_occurred_at')) }} end as occurred_at,
        case when quarantine_reason is null then {{ json_timestamp(json_text('f_emitted_at')) }} end as emitted_at,

        -- the record: a quarantined one's text, exactly as landed. A valid record's text is not
        -- copied here: it stays in landed_records, where stg_stream__events reads it by position
        -- (each copy of the text is written and checkpointed again: a normal minute's three
        -- copies were 97 MB of the 130 MB of text it wrote)
        case when quarantine_reason is not null then kinesis_data end as kinesis_data,
        quarantine_reason,
        quarantine_reason is null as is_valid,

        -- arrival
        approximate_arrival_timestamp as arrived_at,
        refresh_time as landed_at,
        landed_batch

    from checked

)

select * from final

{#-
    Contract-valid events, one row per event_id: a redelivery of an event that is already here
    (by the stream, a replay, or both) is dropped, and the first landing of it is kept, so the
    stream position that traces each event never changes.
    Cursor: `landed_batch` (macros/batch_cursor.sql). The first landing is the first batch that
    held the event, so a redelivery in a later batch is dropped by probing this table, and only
    its rows with an `emitted_at` within the batch's: a redelivery is the same event, sent once
    by the producer, so it carries the same `emitted_at` (a producer that re-stamped a retry would
    get past the probe; the data-quality DAG's unique test on event_id catches that). The
    poller does re-stamp a page it re-reads: events of the polled sources are probed by
    `event_id_hash` too (staged_events_within, macros/batch_cursor.sql).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        dist='even',
        sort=['landed_batch'],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor() -%}
    {%- set emitted = new_records_emitted_range(cursor) -%}
    {%- set polled = polled_event_batches(this, cursor) -%}
{%- endif %}

with

records as (

    select * from {{ ref('stg_stream__records') }}
    where is_valid
    {% if incremental %}
        and landed_batch > {{ cursor }}
    {% endif %}

),

first_delivery as (

    select *
    from records as records
    qualify row_number() over (
        partition by event_id
        order by landed_batch, landed_at, shard_id, sequence_number
    ) = 1

),

-- The text of the batch's records, by position (stg_stream__records keeps none of it).
texts as (

    select
        shard_id,
        sequence_number,
        {{ landed_record('landed') }} as record
    from {{ ref('landed_records') }} as landed
    {% if incremental %}
    where landed_batch > {{ cursor }}
    {% endif %}

),

{% if incremental %}
already_staged as (

    {{ staged_events_within(this, 'event_id', emitted, polled) }}

),

new_events as (

    select first_delivery.*
    from first_delivery
    left join already_staged
        on first_delivery.event_id = already_staged.event_id
    where already_staged.event_id is null

),
{% else %}
new_events as (

    select * from first_delivery

),
{% endif %}

final as (

    select
        new_events.event_id,
        {{ key_hash('new_events.event_id') }} as event_id_hash,
        new_events.event_type,
        new_events.schema_version,
        new_events.source,
        new_events.shard_id,
        new_events.sequence_number,
        texts.record,
        new_events.occurred_at,
        new_events.emitted_at,
        new_events.arrived_at,
        new_events.landed_at,
        new_events.landed_batch
    from new_events
    inner join texts
        on new_events.shard_id = texts.shard_id
        and new_events.sequence_number = texts.sequence_number

)

select * from final

{#-
    Producers that reused an idempotency key: a later delivery of an event_id whose content
    differs from the first delivery's. The marts keep the first version (stg_stream__events);
    this names both stream positions and which contract fields differ (names only, never
    values: payloads hold donor PII). emitted_at is left out: it says when a delivery was sent,
    not what the event is.
    Cursor: `landed_batch`, kept in lander.processed_batches (macros/batch_cursor.sql: a conflict
    is rare, so the newest row here says little of what was read). A pass compares the valid records of the
    new batches with the first delivery stg_stream__events holds for their event_ids, probing
    only its rows with an emitted_at within the batch's, and the polled sources' events by
    their hash, as stg_stream__events itself does (macros/batch_cursor.sql; a producer's
    delivery re-stamped outside that range is staged as a second event there, and the
    data-quality DAG's unique test on event_id names it). Each later delivery is in one batch,
    so appending never records it twice.
-#}
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

{%- set compared = [] -%}
{%- for p in contract_checks().paths -%}
    {%- if p.path not in contract_checks().objects | map(attribute='path') | list and p.path != 'emitted_at' -%}
        {%- do compared.append(p.path) -%}
    {%- endif -%}
{%- endfor %}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = processed_batch_cursor() -%}
    {%- set emitted = new_records_emitted_range(cursor) -%}
    {%- set polled = polled_event_batches(ref('stg_stream__events'), cursor) -%}
{%- endif %}

with

deliveries as (

    select event_id, shard_id, sequence_number, emitted_at, landed_at, landed_batch
    from {{ ref('stg_stream__records') }}
    where is_valid
    {% if incremental %}
        and landed_batch > {{ cursor }}
    {% endif %}

),

-- Positions only: the probe window holds every event of the batch's minutes, and reading
-- their text to compare a few redeliveries cost a peak minute seconds.
first_deliveries as (

    {% if incremental %}
    {{ staged_events_within(ref('stg_stream__events'), 'event_id, shard_id, sequence_number', emitted, polled) }}
    {% else %}
    select event_id, shard_id, sequence_number
    from {{ ref('stg_stream__events') }}
    {% endif %}

),

-- Redeliveries only, found by position before any field is compared: comparing the fields of
-- every delivery with itself cost a peak minute 8 s.
later_deliveries as (

    select deliveries.*
    from deliveries
    left join first_deliveries
        on deliveries.event_id = first_deliveries.event_id
        and deliveries.shard_id = first_deliveries.shard_id
        and deliveries.sequence_number = first_deliveries.sequence_number
    where first_deliveries.event_id is null

),

-- The text, which stg_stream__records does not copy, for the redeliveries only.
later_texts as (

    select later_deliveries.*, {{ landed_record('landed') }} as record
    from later_deliveries
    inner join {{ ref('landed_records') }} as landed
        on later_deliveries.shard_id = landed.shard_id
        and later_deliveries.sequence_number = landed.sequence_number
        {% if incremental %}
        and landed.landed_batch > {{ cursor }}
        {% endif %}

),

-- The first delivery's text, for the redeliveries' events only.
first_texts as (

    select event_id, shard_id, sequence_number, record
    from
    {% if incremental %}
        ({{ staged_events_within(ref('stg_stream__events'), 'event_id, shard_id, sequence_number, record', emitted, polled) }}) as staged
    {% else %}
        {{ ref('stg_stream__events') }}
    {% endif %}
    where event_id in (select event_id from later_deliveries)

),

compared as (

    select
        later.event_id,
        first_delivery.shard_id as first_shard_id,
        first_delivery.sequence_number as first_sequence_number,
        later.shard_id,
        later.sequence_number,
        later.landed_at,
        later.landed_batch,
        {%- for path in compared %}
        {#- coalesce: a field present in one delivery and missing in the other differs too. #}
        case when coalesce({{ json_compared('first_delivery.record', path) }}, '<missing>')
            <> coalesce({{ json_compared('later.record', path) }}, '<missing>')
            then '{{ path }},' end as d{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from later_texts as later
    inner join first_texts as first_delivery
        on later.event_id = first_delivery.event_id
    where {{ records_may_differ('later.record', 'first_delivery.record') }}

),

final as (

    select
        event_id,
        first_shard_id,
        first_sequence_number,
        shard_id,
        sequence_number,
        rtrim(
            {%- for path in compared %}coalesce(d{{ loop.index }}, ''){{ " || " if not loop.last }}{% endfor -%}
        , ',') as differing_fields,
        landed_at,
        landed_batch
    from compared

)

select * from final
where differing_fields <> ''

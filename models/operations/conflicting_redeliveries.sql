{#-
    Producers that reused an idempotency key: a later delivery of an event_id whose content
    differs from the first delivery's. The marts keep the first version (stg_stream__events);
    this names both stream positions and which contract fields differ (names only, never
    values: payloads hold donor PII). Rebuilt each run from the valid records of event_ids
    delivered more than once, a small share of the stream. emitted_at is left out: it says when
    a delivery was sent, not what the event is.
-#}
{{ config(materialized='table') }}

{%- set compared = [] -%}
{%- for p in contract_checks().paths -%}
    {%- if p.path not in contract_checks().objects | map(attribute='path') | list and p.path != 'emitted_at' -%}
        {%- do compared.append(p.path) -%}
    {%- endif -%}
{%- endfor %}

with

redelivered as (

    select event_id
    from {{ ref('stg_stream__records') }}
    where is_valid
    group by event_id
    having count(*) > 1

),

deliveries as (

    select
        records.event_id,
        records.shard_id,
        records.sequence_number,
        records.record,
        records.landed_at,
        row_number() over (
            partition by records.event_id
            order by records.landed_at, records.shard_id, records.sequence_number
        ) as delivery
    from {{ ref('stg_stream__records') }} as records
    inner join redelivered on records.event_id = redelivered.event_id
    where records.is_valid

),

compared as (

    select
        later.event_id,
        first_delivery.shard_id as first_shard_id,
        first_delivery.sequence_number as first_sequence_number,
        later.shard_id,
        later.sequence_number,
        later.landed_at,
        {%- for path in compared %}
        {#- coalesce: a field present in one delivery and missing in the other differs too. #}
        case when coalesce({{ json_field('first_delivery.record', path) }}, '<missing>')
            <> coalesce({{ json_field('later.record', path) }}, '<missing>')
            then '{{ path }},' end as d{{ loop.index }}{{ "," if not loop.last }}
        {%- endfor %}
    from deliveries as later
    inner join deliveries as first_delivery
        on later.event_id = first_delivery.event_id
        and first_delivery.delivery = 1
    where later.delivery > 1

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
        landed_at
    from compared

)

select * from final
where differing_fields <> ''

{#-
    Households, individuals and pounds served per day, partner agency and postal code.
    Cursor: `landed_batch` of fct_partner_distributions, kept in lander.processed_batches
    (macros/batch_cursor.sql). A pass recomputes only the groups that a report changed by the
    new batches is in, or was in: a report whose winning copy moved it to another day, partner
    or postal code leaves its old group too, found among the report's staged copies. Each group
    is recomputed from fct_partner_distributions within the touched days, a range the warehouse
    prunes by service_date; a group every report left is deleted (the last post-hook), as a full
    build would not have it. After a full refresh of fct_partner_distributions alone
    (macros/batch_cursor.sql, rebuilt_since), a pass recomputes every group, until a newer batch
    of reports lands.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='distribution_day_id',
        dist='partner_id',
        sort=['service_date'],
        post_hook=[
            "delete from {{ this }} where report_count = 0",
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('fct_partner_distributions')) }}",
        ],
    )
}}

{%- set group_id = surrogate_key(dbt.concat([
    key_text('service_date'), "'|'",
    'partner_id', "'|'", "coalesce(postal_code, '')",
])) -%}
{%- set incremental = is_incremental() -%}
{%- set cursor = processed_batch_cursor() if incremental else 0 -%}
{#- After a full refresh of the fact alone, every group is recomputed (cursor 0, every batch). -#}
{%- set rebuilt = incremental and rebuilt_since('fct_partner_distributions', cursor) -%}
{%- if rebuilt -%}
    {%- set cursor = 0 -%}
{%- endif -%}

{%- set changed_reports -%}
    select report_id from {{ ref('fct_partner_distributions') }}
    where landed_batch > {{ cursor }}
{%- endset -%}

{#- The staged copies are read within the batches that hold them (batches_holding). -#}
{%- set staged_batches = batches_holding(ref('stg_partner_api__distribution_reports'), 'report_id', changed_reports) if incremental and not rebuilt else none -%}

{%- set touched_groups -%}
    select distinct {{ group_id }} as distribution_day_id, service_date
    from (
        select service_date, partner_id, postal_code
        from {{ ref('fct_partner_distributions') }}
        where landed_batch > {{ cursor }}

        union all

        select service_date, partner_id, postal_code
        from {{ ref('stg_partner_api__distribution_reports') }}
        where {{ within_batches(staged_batches) }}
            and report_id in ({{ changed_reports }})
    ) as changed
{%- endset -%}

{%- if incremental -%}
    {%- set days = touched_days(touched_groups, 'service_date') -%}
{%- endif %}

with

{% if incremental %}
touched as (

    {{ touched_groups }}

),
{% endif %}

reports as (

    select * from {{ ref('fct_partner_distributions') }}
    {% if incremental %}
    {{ within_days('service_date', days) }}
    {% endif %}

),

daily as (

    select
        {{ group_id }} as distribution_day_id,
        service_date,
        partner_id,
        postal_code,
        cast(count(*) as bigint) as report_count,
        cast(sum(households_served) as bigint) as households_served,
        cast(sum(individuals_served) as bigint) as individuals_served,
        cast(sum(lbs_distributed) as decimal(18, 3)) as lbs_distributed
    from reports
    group by service_date, partner_id, postal_code

),

{% if incremental %}
-- Every touched group is rewritten, an emptied one as a row of zeros that the post-hook
-- deletes: delete+insert replaces only the keys it is given.
final as (

    select
        touched.distribution_day_id,
        daily.service_date,
        daily.partner_id,
        daily.postal_code,
        coalesce(daily.report_count, 0) as report_count,
        daily.households_served,
        daily.individuals_served,
        daily.lbs_distributed
    from touched
    left join daily
        on touched.distribution_day_id = daily.distribution_day_id

)
{% else %}
final as (

    select * from daily

)
{% endif %}

select * from final

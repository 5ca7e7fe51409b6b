{#- Households, individuals and pounds served per day, partner agency and postal code. -#}
with

reports as (

    select * from {{ ref('fct_partner_distributions') }}

),

final as (

    select
        {{ dbt.hash(dbt.concat([dbt.cast('service_date', api.Column.translate_type('string')), "'|'", 'partner_id', "'|'", "coalesce(postal_code, '')"])) }} as distribution_day_id,
        service_date,
        partner_id,
        postal_code,
        cast(count(*) as bigint) as report_count,
        cast(sum(households_served) as bigint) as households_served,
        cast(sum(individuals_served) as bigint) as individuals_served,
        cast(sum(lbs_distributed) as decimal(18, 3)) as lbs_distributed
    from reports
    group by service_date, partner_id, postal_code

)

select * from final

{#- Fundraising campaigns and their goals, from the development team's seed. -#}
with

campaigns as (

    select * from {{ ref('campaigns') }}

),

final as (

    select
        cast(campaign_id as varchar(64)) as campaign_id,
        cast(campaign_name as varchar(256)) as campaign_name,
        cast(primary_designation as varchar(32)) as primary_designation,
        cast(goal_cents as bigint) as goal_cents
    from campaigns

)

select * from final

{#-
    The live fundraising dashboard: per campaign, net raised against the goal, gifts, donors and
    the last hour's pace. "Last hour" ends at the newest gift in the warehouse, not at the
    clock, so the same events always give the same table.
-#}
with

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

donations as (

    select * from {{ ref('fct_donations') }}

),

as_of as (

    select max(donated_at) as as_of_at from donations

),

campaign_totals as (

    select
        donations.campaign_id,
        count(*) as gift_count,
        count(distinct donations.donor_id) as donor_count,
        cast(sum(donations.gross_amount_cents) as bigint) as gross_amount_cents,
        cast(sum(donations.net_amount_cents) as bigint) as net_amount_cents,
        cast(sum(
            case
                when donations.donated_at > as_of.as_of_at - interval '1 hour'
                    then donations.net_amount_cents
                else 0
            end
        ) as bigint) as last_hour_net_amount_cents,
        sum(
            case when donations.donated_at > as_of.as_of_at - interval '1 hour' then 1 else 0 end
        ) as last_hour_gift_count,
        max(donations.donated_at) as last_donated_at
    from donations
    cross join as_of
    group by donations.campaign_id

),

final as (

    select
        campaigns.campaign_id,
        campaigns.campaign_name,
        campaigns.goal_cents,
        cast(coalesce(campaign_totals.gross_amount_cents, 0) as bigint) as gross_amount_cents,
        cast(coalesce(campaign_totals.net_amount_cents, 0) as bigint) as net_amount_cents,
        cast(
            coalesce(campaign_totals.net_amount_cents, 0) * 1.0 / nullif(campaigns.goal_cents, 0)
            as double precision
        ) as goal_fraction,
        cast(coalesce(campaign_totals.gift_count, 0) as bigint) as gift_count,
        cast(coalesce(campaign_totals.donor_count, 0) as bigint) as donor_count,
        cast(coalesce(campaign_totals.last_hour_net_amount_cents, 0) as bigint)
            as last_hour_net_amount_cents,
        cast(coalesce(campaign_totals.last_hour_gift_count, 0) as bigint) as last_hour_gift_count,
        campaign_totals.last_donated_at
    from campaigns
    left join campaign_totals
        on campaigns.campaign_id = campaign_totals.campaign_id

)

select * from final

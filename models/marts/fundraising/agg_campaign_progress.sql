{#-
    The live fundraising dashboard: per campaign, net raised against the goal, gifts, donors and
    the last hour's pace. "Last hour" ends at the newest gift in the warehouse, not at the
    clock, so the same events always give the same table.
    A small table rebuilt each pass from incremental parts, never from the history: totals from
    int_campaign_daily, donors from int_campaign_donors, and the last hour from fct_donations
    read past a literal start, which the warehouse prunes by donated_at.
-#}

{%- set as_of = run_time_row(
    "select max(last_donated_at) from " ~ ref('int_campaign_daily'), width=1
)[0] -%}

with

campaigns as (

    select * from {{ ref('dim_campaigns') }}

),

campaign_totals as (

    select
        campaign_id,
        sum(gift_count) as gift_count,
        sum(gross_amount_cents) as gross_amount_cents,
        sum(net_amount_cents) as net_amount_cents,
        max(last_donated_at) as last_donated_at
    from {{ ref('int_campaign_daily') }}
    group by campaign_id

),

campaign_donors as (

    select campaign_id, count(*) as donor_count
    from {{ ref('int_campaign_donors') }}
    where gift_count > 0
    group by campaign_id

),

last_hour as (

    select
        campaign_id,
        sum(net_amount_cents) as last_hour_net_amount_cents,
        count(*) as last_hour_gift_count
    from {{ ref('fct_donations') }}
    {% if as_of is none %}
    where false
    {% else %}
    where donated_at > cast('{{ as_of }}' as timestamp) - interval '1 hour'
    {% endif %}
    group by campaign_id

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
        cast(coalesce(campaign_donors.donor_count, 0) as bigint) as donor_count,
        cast(coalesce(last_hour.last_hour_net_amount_cents, 0) as bigint)
            as last_hour_net_amount_cents,
        cast(coalesce(last_hour.last_hour_gift_count, 0) as bigint) as last_hour_gift_count,
        campaign_totals.last_donated_at
    from campaigns
    left join campaign_totals
        on campaigns.campaign_id = campaign_totals.campaign_id
    left join campaign_donors
        on campaigns.campaign_id = campaign_donors.campaign_id
    left join last_hour
        on campaigns.campaign_id = last_hour.campaign_id

)

select * from final

{#-
    Food on hand per site and category, and how many days it lasts at the pace of the trailing
    seven days of shipments. The trailing window ends at the newest movement in the warehouse,
    not at the clock, so the same events always give the same table.
    A small table rebuilt each pass from incremental parts, never from the history: on hand from
    int_inventory_daily, the trailing week's shipments from fct_inventory_movements read past a
    literal start, which the warehouse prunes by moved_at.
-#}

{%- set as_of = run_time_row(
    "select max(last_moved_at) from " ~ ref('int_inventory_daily'), width=1
)[0] -%}

with

site_categories as (

    select
        site_id,
        category,
        sum(signed_lbs) as on_hand_lbs,
        max(last_moved_at) as last_moved_at
    from {{ ref('int_inventory_daily') }}
    group by site_id, category
    -- A site and category every movement left keeps only rows of zeros.
    having max(last_moved_at) is not null

),

trailing_shipments as (

    select
        site_id,
        category,
        -sum(signed_lbs) as shipped_lbs
    from {{ ref('fct_inventory_movements') }}
    {% if as_of is none %}
    where false
    {% else %}
    where movement_type = 'shipment'
        and moved_at > cast('{{ as_of }}' as timestamp) - interval '7 days'
    {% endif %}
    group by site_id, category

),

final as (

    select
        -- keys
        site_categories.site_id || ':' || site_categories.category as site_category_id,
        site_categories.site_id,
        site_categories.category,

        -- quantities
        cast(site_categories.on_hand_lbs as decimal(18, 3)) as on_hand_lbs,
        cast(coalesce(trailing_shipments.shipped_lbs, 0) as decimal(18, 3))
            as shipped_lbs_trailing_7d,
        cast(
            site_categories.on_hand_lbs
            / nullif(coalesce(trailing_shipments.shipped_lbs, 0) / 7.0, 0)
            as decimal(18, 1)
        ) as days_of_supply,

        -- timestamps (UTC)
        site_categories.last_moved_at

    from site_categories
    left join trailing_shipments
        on site_categories.site_id = trailing_shipments.site_id
        and site_categories.category = trailing_shipments.category

)

select * from final

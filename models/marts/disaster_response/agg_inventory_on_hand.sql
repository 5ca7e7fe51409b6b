{#-
    Food on hand per site and category, and how many days it lasts at the pace of the trailing
    seven days of shipments. The trailing window ends at the newest movement in the warehouse,
    not at the clock, so the same events always give the same table.
-#}
with

movements as {{ inlined() }} (

    select * from {{ ref('fct_inventory_movements') }}

),

as_of as (

    select max(moved_at) as as_of_at from movements

),

site_categories as (

    select
        movements.site_id,
        movements.category,
        sum(movements.signed_lbs) as on_hand_lbs,
        sum(
            case
                when movements.movement_type = 'shipment'
                    and movements.moved_at > as_of.as_of_at - interval '7 days'
                    then -movements.signed_lbs
                else 0
            end
        ) as shipped_lbs_trailing_7d,
        max(movements.moved_at) as last_moved_at
    from movements
    cross join as_of
    group by movements.site_id, movements.category

),

final as (

    select
        -- keys
        site_id || ':' || category as site_category_id,
        site_id,
        category,

        -- quantities
        cast(on_hand_lbs as decimal(18, 3)) as on_hand_lbs,
        cast(shipped_lbs_trailing_7d as decimal(18, 3)) as shipped_lbs_trailing_7d,
        cast(
            on_hand_lbs / nullif(shipped_lbs_trailing_7d / 7.0, 0) as decimal(18, 1)
        ) as days_of_supply,

        -- timestamps (UTC)
        last_moved_at

    from site_categories

)

select * from final

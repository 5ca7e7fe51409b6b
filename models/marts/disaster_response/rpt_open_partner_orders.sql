{#-
    Partner orders still waiting for food. Orders carry no shipment reference, so shipments
    from a site to a partner fill that partner's orders at that site first-come first-served
    (by ordered_at); an order is open while part of it is unfilled.
-#}
with

orders as (

    select * from {{ ref('stg_partner_api__orders') }}

),

movements as (

    select * from {{ ref('fct_inventory_movements') }}

),

distinct_orders as (

    select *
    from orders
    qualify row_number() over (
        partition by order_id
        order by emitted_at, event_id
    ) = 1

),

shipped as (

    select
        partner_id,
        site_id,
        -sum(signed_lbs) as shipped_lbs
    from movements
    where movement_type = 'shipment'
    group by partner_id, site_id

),

queued as (

    select
        distinct_orders.*,
        sum(distinct_orders.requested_lbs) over (
            partition by distinct_orders.partner_id, distinct_orders.site_id
            order by distinct_orders.ordered_at, distinct_orders.order_id
            rows between unbounded preceding and current row
        ) as requested_lbs_through_here,
        coalesce(shipped.shipped_lbs, 0) as partner_shipped_lbs
    from distinct_orders
    left join shipped
        on distinct_orders.partner_id = shipped.partner_id
        and distinct_orders.site_id = shipped.site_id

),

filled as (

    select
        queued.*,
        greatest(
            least(
                queued.requested_lbs,
                queued.requested_lbs_through_here - queued.partner_shipped_lbs
            ),
            0
        ) as unfilled_lbs
    from queued

),

final as (

    select
        -- keys
        order_id,
        partner_id,
        site_id,

        -- quantities
        cast(requested_lbs as decimal(18, 3)) as requested_lbs,
        cast(unfilled_lbs as decimal(18, 3)) as unfilled_lbs,

        -- dates and timestamps (UTC)
        needed_by,
        ordered_at

    from filled
    where unfilled_lbs > 0

)

select * from final

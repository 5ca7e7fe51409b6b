{#-
    Partner orders still waiting for food. Orders carry no shipment reference, so shipments
    from a site to a partner fill that partner's orders at that site first-come first-served
    (by ordered_at, then order_id): an order is open while the pair's shipments fall short of
    what the pair requested up to and including it (int_partner_order_queue).
    Cursors (lander.processed_batches, macros/batch_cursor.sql): `landed_batch` of the queue,
    and of fct_inventory_movements under the mark `rpt_open_partner_orders__shipments`. A pass
    takes the pairs the queue rewrote or a changed shipment is in or was in (its staged copies
    hold every version), and weighs only the orders whose unfilled pounds can have changed: the
    ones the queue rewrote, and those between the fill's boundary before the pass and after it;
    it writes those that differ from the row it holds. An order filled by the pass is written
    with nothing unfilled, and the last post-hook deletes it. After a full refresh of
    fct_inventory_movements alone (macros/batch_cursor.sql, rebuilt_since), a pass takes every
    pair with a shipment, until a newer batch of movements lands.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        dist='partner_id',
        post_hook=[
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('int_partner_order_queue')) }}",
            "{{ forget_processed_batches('rpt_open_partner_orders__shipments') }}",
            "{{ record_processed_batches(ref('fct_inventory_movements'), 'rpt_open_partner_orders__shipments') }}",
            "delete from {{ this }} where unfilled_lbs = 0",
        ],
    )
}}

-- depends_on: {{ ref('stg_warehouse__inventory_shipments') }}

{%- set incremental = is_incremental() %}
{%- if incremental %}
    {#- Its rows carry no batch: a table built before it kept its marks is read whole once. #}
    {%- set queue_cursor = processed_batch_cursor(unmarked=0) %}
    {%- set shipment_cursor = processed_batch_cursor('rpt_open_partner_orders__shipments', unmarked=0) %}
    {#- After a full refresh of the fact alone, every pair with a shipment is touched. #}
    {%- set rebuilt = rebuilt_since('fct_inventory_movements', shipment_cursor) %}
    {%- if rebuilt %}
        {%- set shipment_cursor = 0 %}
    {%- endif %}
    {%- set changed_shipments = "select movement_id from " ~ ref('fct_inventory_movements') ~ " where movement_type = 'shipment' and landed_batch > " ~ shipment_cursor %}
    {%- set staged_batches = none if rebuilt else batches_holding(ref('stg_warehouse__inventory_shipments'), "'shipment:' || shipment_id", changed_shipments) %}
{%- endif %}

with

queue as {{ inlined() }} (

    select * from {{ ref('int_partner_order_queue') }}

),

{% if incremental %}
touched as (

    select distinct partner_id, site_id
    from (
        select partner_id, site_id from queue
        where landed_batch > {{ queue_cursor }}

        union all

        select partner_id, site_id from {{ ref('fct_inventory_movements') }}
        where movement_type = 'shipment'
            and landed_batch > {{ shipment_cursor }}

        union all

        select partner_id, site_id from {{ ref('stg_warehouse__inventory_shipments') }}
        where {{ within_batches(staged_batches) }}
            and 'shipment:' || shipment_id in ({{ changed_shipments }})
    ) as pairs

),
{% endif %}

shipped as (

    select
        movements.partner_id,
        movements.site_id,
        -sum(movements.signed_lbs) as shipped_lbs
    from {{ ref('fct_inventory_movements') }} as movements
    {% if incremental %}
    inner join touched
        on movements.partner_id = touched.partner_id
        and movements.site_id = touched.site_id
    {% endif %}
    where movements.movement_type = 'shipment'
    group by movements.partner_id, movements.site_id

),

{% if incremental %}
{#- The first open order of each touched pair as this table holds it. -#}
first_open_at as (

    select
        open_orders.partner_id,
        open_orders.site_id,
        min(open_orders.ordered_at) as ordered_at
    from {{ this }} as open_orders
    inner join touched
        on open_orders.partner_id = touched.partner_id
        and open_orders.site_id = touched.site_id
    group by open_orders.partner_id, open_orders.site_id

),

{#- A window over the orders placed at that first instant only, not over every open order. -#}
first_open as (

    select
        open_orders.partner_id,
        open_orders.site_id,
        open_orders.order_id,
        open_orders.unfilled_lbs
    from {{ this }} as open_orders
    inner join first_open_at
        on open_orders.partner_id = first_open_at.partner_id
        and open_orders.site_id = first_open_at.site_id
        and open_orders.ordered_at = first_open_at.ordered_at
    qualify row_number() over (
        partition by open_orders.partner_id, open_orders.site_id
        order by open_orders.order_id
    ) = 1

),

{#- The fill's boundary before the pass: the pounds shipped that it had covered, read off the
    first open order (what the pair requested through it, less what it still lacked). Each
    order ahead of it was filled, each behind it wholly open. Null when the pair had no open
    order, or when the queue has rewritten that order since (its running sum moved): then every
    order the queue did not rewrite was filled. -#}
boundaries as (

    select
        touched.partner_id,
        touched.site_id,
        case
            when queue.landed_batch <= {{ queue_cursor }}
                then queue.requested_through_lbs - first_open.unfilled_lbs
        end as filled_through_lbs,
        coalesce(shipped.shipped_lbs, 0) as shipped_lbs
    from touched
    left join first_open
        on touched.partner_id = first_open.partner_id
        and touched.site_id = first_open.site_id
    left join queue
        on first_open.order_id = queue.order_id
    left join shipped
        on touched.partner_id = shipped.partner_id
        and touched.site_id = shipped.site_id

),

{#- An order's unfilled pounds change only if the queue rewrote it or a boundary, before or
    after, cuts into it. -#}
weighed as (

    select
        queue.*,
        boundaries.shipped_lbs as partner_shipped_lbs
    from queue
    inner join boundaries
        on queue.partner_id = boundaries.partner_id
        and queue.site_id = boundaries.site_id
    where queue.landed_batch > {{ queue_cursor }}
        or (
            boundaries.filled_through_lbs is null
            and queue.requested_through_lbs > boundaries.shipped_lbs
        )
        or (
            queue.requested_through_lbs > least(boundaries.filled_through_lbs, boundaries.shipped_lbs)
            and queue.requested_through_lbs - queue.requested_lbs
            < greatest(boundaries.filled_through_lbs, boundaries.shipped_lbs)
        )

),
{% else %}
weighed as (

    select
        queue.*,
        coalesce(shipped.shipped_lbs, 0) as partner_shipped_lbs
    from queue
    left join shipped
        on queue.partner_id = shipped.partner_id
        and queue.site_id = shipped.site_id

),
{% endif %}

filled as (

    select
        weighed.*,
        greatest(
            least(
                weighed.requested_lbs,
                weighed.requested_through_lbs - weighed.partner_shipped_lbs
            ),
            0
        ) as unfilled_lbs
    from weighed

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
    {% if not incremental %}
    where unfilled_lbs > 0
    {% endif %}

){% if incremental %},

{#- Of those, only the ones that differ from the row this table holds: a late order re-queues
    every later order of its pair, and most of them stay wholly open. -#}
changed as (

    select final.*
    from final
    left join {{ this }} as standing
        on final.order_id = standing.order_id
    where
        case
            when standing.order_id is null then final.unfilled_lbs > 0
            {#- Null-safe (Redshift has no IS DISTINCT FROM). #}
            else not (
                {%- for column in ['partner_id', 'site_id', 'requested_lbs', 'unfilled_lbs', 'needed_by', 'ordered_at'] %}
                (final.{{ column }} = standing.{{ column }} or (final.{{ column }} is null and standing.{{ column }} is null))
                {%- if not loop.last %} and{% endif %}
                {%- endfor %}
            )
        end

)

select * from changed
{% else %}

select * from final
{% endif %}

{#-
    Pounds moved per site, category and day of the movement: the parts agg_inventory_on_hand
    sums. Cursor: `landed_batch` of fct_inventory_movements, kept in lander.processed_batches
    (macros/batch_cursor.sql). A pass recomputes only the (site, category, day) triples that a
    movement changed by the new batches is in, or was in: a movement whose winning copy moved it
    to another site, category or day leaves its old triple too, found among the movement's
    staged copies (every version it ever had is one). Each triple is recomputed from
    fct_inventory_movements within the touched days, a range the warehouse prunes by moved_at.
    After a full refresh of fct_inventory_movements alone (macros/batch_cursor.sql,
    rebuilt_since), a pass recomputes every triple, until a newer batch of movements lands.
-#}
{{
    config(
        unique_key=['site_id', 'category', 'moved_date'],
        dist='site_id',
        sort=['moved_date'],
        post_hook=[
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('fct_inventory_movements')) }}",
        ],
    )
}}

{%- set incremental = is_incremental() -%}
{%- set cursor = processed_batch_cursor() if incremental else 0 -%}
{#- After a full refresh of the fact alone, every triple is recomputed (cursor 0, every batch). -#}
{%- set rebuilt = incremental and rebuilt_since('fct_inventory_movements', cursor) -%}
{%- if rebuilt -%}
    {%- set cursor = 0 -%}
{%- endif -%}

{%- set changed_movements -%}
    select movement_id from {{ ref('fct_inventory_movements') }}
    where landed_batch > {{ cursor }}
{%- endset -%}

{#- The staged copies are read within the batches that hold them (batches_holding). -#}
{%- set staged = {} -%}
{%- for model, key in [
    ('stg_warehouse__inventory_receipts', "'receipt:' || receipt_id"),
    ('stg_warehouse__inventory_shipments', "'shipment:' || shipment_id"),
    ('stg_warehouse__inventory_adjustments', "'adjustment:' || adjustment_id"),
] -%}
    {%- do staged.update({model: batches_holding(ref(model), key, changed_movements) if incremental and not rebuilt else none}) -%}
{%- endfor -%}

{%- set touched_triples -%}
    select distinct site_id, category, cast(moved_at as date) as moved_date
    from (
        select site_id, category, moved_at from {{ ref('fct_inventory_movements') }}
        where landed_batch > {{ cursor }}

        union all

        select site_id, category, received_at from {{ ref('stg_warehouse__inventory_receipts') }}
        where {{ within_batches(staged['stg_warehouse__inventory_receipts']) }}
            and 'receipt:' || receipt_id in ({{ changed_movements }})

        union all

        select site_id, category, shipped_at from {{ ref('stg_warehouse__inventory_shipments') }}
        where {{ within_batches(staged['stg_warehouse__inventory_shipments']) }}
            and 'shipment:' || shipment_id in ({{ changed_movements }})

        union all

        select site_id, category, adjusted_at
        from {{ ref('stg_warehouse__inventory_adjustments') }}
        where {{ within_batches(staged['stg_warehouse__inventory_adjustments']) }}
            and 'adjustment:' || adjustment_id in ({{ changed_movements }})
    ) as changed
{%- endset -%}

{%- if incremental -%}
    {%- set days = touched_days(touched_triples, 'moved_date') -%}
{%- endif %}

with

{% if incremental %}
touched as (

    {{ touched_triples }}

),
{% endif %}

movements as (

    select * from {{ ref('fct_inventory_movements') }}
    {% if incremental %}
    {{ within_days('moved_at', days) }}
    {% endif %}

),

daily as (

    select
        site_id,
        category,
        moved_date,
        sum(signed_lbs) as signed_lbs,
        sum(case when movement_type = 'shipment' then -signed_lbs else 0 end) as shipped_lbs,
        cast(count(*) as bigint) as movement_count,
        max(moved_at) as last_moved_at,
        max(landed_batch) as landed_batch
    from movements
    group by site_id, category, moved_date

),

{% if incremental %}
-- Every touched triple is rewritten, an emptied one as zeros: delete+insert replaces only the
-- keys it is given.
final as (

    select
        touched.site_id,
        touched.category,
        touched.moved_date,
        cast(coalesce(daily.signed_lbs, 0) as decimal(18, 3)) as signed_lbs,
        cast(coalesce(daily.shipped_lbs, 0) as decimal(18, 3)) as shipped_lbs,
        coalesce(daily.movement_count, 0) as movement_count,
        daily.last_moved_at,
        daily.landed_batch
    from touched
    left join daily
        on touched.site_id = daily.site_id
        and touched.category = daily.category
        and touched.moved_date = daily.moved_date

)
{% else %}
final as (

    select
        site_id,
        category,
        moved_date,
        cast(signed_lbs as decimal(18, 3)) as signed_lbs,
        cast(shipped_lbs as decimal(18, 3)) as shipped_lbs,
        movement_count,
        last_moved_at,
        landed_batch
    from daily

)
{% endif %}

select * from final

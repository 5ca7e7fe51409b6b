{#-
    Every receipt, shipment and adjustment of food as one signed movement in pounds (in > 0,
    out < 0), counted once per business key however often it was delivered or re-sent (the
    earliest emitted_at wins).
    Cursor: `landed_batch` (macros/batch_cursor.sql): a pass recomputes only the movements a
    batch past the cursor touched, reading their deliveries by movement_id within the batches
    that hold them. A full refresh of this model alone is recorded (record_full_rebuild): the
    models that read it past a cursor (int_inventory_daily, rpt_open_partner_orders) then read
    it whole, as their rows may hold what the rebuild changed.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='movement_id',
        dist='site_id',
        sort=['landed_batch'],
        post_hook="{{ record_full_rebuild() }}",
    )
}}

{%- set incremental = is_incremental() -%}
{%- set cursor = batch_cursor() if incremental else 0 -%}

{#- Each source's deliveries are read within the batches that hold the keys a batch past the
    cursor touched (macros/batch_cursor.sql, batches_holding). -#}
{%- set within = {} -%}
{%- for model, key in [
    ('stg_warehouse__inventory_receipts', 'receipt_id'),
    ('stg_warehouse__inventory_shipments', 'shipment_id'),
    ('stg_warehouse__inventory_adjustments', 'adjustment_id'),
] -%}
    {%- set touched_keys = "select " ~ key ~ " from " ~ ref(model) ~ " where landed_batch > " ~ cursor -%}
    {%- do within.update({model: within_batches(batches_holding(ref(model), key, touched_keys)) if incremental else 'true'}) -%}
{%- endfor %}

with

receipts as (

    select * from {{ ref('stg_warehouse__inventory_receipts') }}
    where {{ within['stg_warehouse__inventory_receipts'] }}

),

shipments as (

    select * from {{ ref('stg_warehouse__inventory_shipments') }}
    where {{ within['stg_warehouse__inventory_shipments'] }}

),

adjustments as (

    select * from {{ ref('stg_warehouse__inventory_adjustments') }}
    where {{ within['stg_warehouse__inventory_adjustments'] }}

),

movements as {{ inlined() }} (

    select
        'receipt:' || receipt_id as movement_id,
        'receipt' as movement_type,
        site_id,
        sku,
        category,
        cast(null as varchar) as partner_id,
        acquisition as movement_reason,
        lbs as signed_lbs,
        value_cents,
        received_at as moved_at,
        event_id,
        emitted_at,
        landed_at,
        landed_batch
    from receipts

    union all

    select
        'shipment:' || shipment_id as movement_id,
        'shipment' as movement_type,
        site_id,
        sku,
        category,
        partner_id,
        cast(null as varchar) as movement_reason,
        -lbs as signed_lbs,
        cast(null as bigint) as value_cents,
        shipped_at as moved_at,
        event_id,
        emitted_at,
        landed_at,
        landed_batch
    from shipments

    union all

    select
        'adjustment:' || adjustment_id as movement_id,
        'adjustment' as movement_type,
        site_id,
        sku,
        category,
        cast(null as varchar) as partner_id,
        reason as movement_reason,
        lbs_delta as signed_lbs,
        cast(null as bigint) as value_cents,
        adjusted_at as moved_at,
        event_id,
        emitted_at,
        landed_at,
        landed_batch
    from adjustments

),

{% if incremental %}
touched_movements as (

    select distinct movement_id from movements
    where landed_batch > {{ cursor }}

),
{% endif %}

winning_movements as (

    select
        movements.*,
        max(landed_at) over (partition by movement_id) as last_landed_at,
        max(landed_batch) over (partition by movement_id) as newest_batch
    from movements as movements
    {% if incremental %}
    where movement_id in (select movement_id from touched_movements)
    {% endif %}
    qualify row_number() over (
        partition by movement_id
        order by emitted_at, event_id
    ) = 1

),

final as (

    select
        -- keys
        movement_id,
        event_id,
        site_id,
        sku,
        partner_id,

        -- attributes
        movement_type,
        category,
        movement_reason,

        -- quantities
        cast(signed_lbs as decimal(18, 3)) as signed_lbs,
        value_cents,

        -- timestamps (UTC)
        moved_at,
        cast(moved_at as date) as moved_date,
        last_landed_at,
        newest_batch as landed_batch

    from winning_movements

)

select * from final

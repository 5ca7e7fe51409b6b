{#-
    fct_donations summed per campaign, UTC day of the gift and landing batch: the parts
    int_campaign_daily adds up. Cursor: `computed_batch`, the newest fct_donations batch a pass
    read. A pass recomputes only the new batches and the batches fct_donations' rewrites deleted
    gifts from (lander.rewritten_batches, macros/materializations/delete_insert_by_hash.sql),
    each from its own gifts, a range the warehouse prunes by landed_batch: a gift whose winning
    copy moved it to another campaign or day has left its old batch, so the old pair is re-summed
    without reading the day.
-#}
{{
    config(
        unique_key=['campaign_id', 'donated_date', 'landed_batch'],
        on_schema_change='fail',
        dist='campaign_id',
        sort=['donated_date'],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor('computed_batch') -%}
    {%- set rewritten = rewritten_batches('fct_donations', cursor) -%}
{%- endif %}

with

donations as (

    select * from {{ ref('fct_donations') }}
    {% if incremental %}
    where landed_batch > {{ cursor }} or {{ within_batches(rewritten) }}
    {% endif %}

),

parts as (

    select
        campaign_id,
        cast(donated_at as date) as donated_date,
        landed_batch,
        cast(count(*) as bigint) as gift_count,
        cast(sum(gross_amount_cents) as bigint) as gross_amount_cents,
        cast(sum(net_amount_cents) as bigint) as net_amount_cents,
        max(donated_at) as last_donated_at
    from donations
    group by campaign_id, cast(donated_at as date), landed_batch

),

pass as (

    select max(landed_batch) as computed_batch from donations

),

{% if incremental %}
-- A part whose gifts all moved to a newer batch is rewritten as zeros: delete+insert replaces
-- only the keys it is given.
keys as (

    select campaign_id, donated_date, landed_batch from parts

    union

    select campaign_id, donated_date, landed_batch from {{ this }}
    where {{ within_batches(rewritten) }}

),

final as (

    select
        keys.campaign_id,
        keys.donated_date,
        keys.landed_batch,
        coalesce(parts.gift_count, 0) as gift_count,
        coalesce(parts.gross_amount_cents, 0) as gross_amount_cents,
        coalesce(parts.net_amount_cents, 0) as net_amount_cents,
        parts.last_donated_at,
        pass.computed_batch
    from keys
    cross join pass
    left join parts
        on keys.campaign_id = parts.campaign_id
        and keys.donated_date = parts.donated_date
        and keys.landed_batch = parts.landed_batch

)
{% else %}
final as (

    select parts.*, pass.computed_batch
    from parts
    cross join pass

)
{% endif %}

select * from final

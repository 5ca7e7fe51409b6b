{#-
    fct_donation_ledger summed per UTC day and landing batch: the parts rpt_daily_close adds up.
    Cursor: `computed_batch`, the newest ledger batch a pass read. A pass recomputes only the
    ledger's new batches and the batches its rewrites deleted entries from (recorded by
    delete_insert_by_hash in lander.rewritten_batches), each from that batch's entries alone, a
    range the warehouse prunes by landed_batch. So a late gift costs its batch, not its day: a
    day's ledger is the whole day's gifts (69M events at the brief's average), a batch a minute's.
-#}
{{
    config(
        unique_key=['entry_date', 'landed_batch'],
        on_schema_change='fail',
        sort=['entry_date'],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor('computed_batch') -%}
    {%- set rewritten = rewritten_batches('fct_donation_ledger', cursor) -%}
{%- endif %}

with

ledger as (

    select * from {{ ref('fct_donation_ledger') }}
    {% if incremental %}
    where landed_batch > {{ cursor }} or {{ within_batches(rewritten) }}
    {% endif %}

),

parts as (

    select
        entry_date,
        landed_batch,
        cast(sum(case when entry_type = 'gift' then amount_cents else 0 end) as bigint) as gross_amount_cents,
        cast(-sum(case when entry_type = 'refund' then amount_cents else 0 end) as bigint) as refunded_amount_cents,
        cast(-sum(case when entry_type = 'fee' then amount_cents else 0 end) as bigint) as fee_cents,
        cast(sum(case when entry_type = 'gift' then 1 else 0 end) as bigint) as gift_count,
        cast(sum(case when entry_type = 'refund' then 1 else 0 end) as bigint) as refund_count,
        cast(count(*) as bigint) as entry_count
    from ledger
    group by entry_date, landed_batch

),

pass as (

    select max(landed_batch) as computed_batch from ledger

),

{% if incremental %}
-- A part whose entries all moved to a newer batch is rewritten as zeros: delete+insert replaces
-- only the keys it is given.
keys as (

    select entry_date, landed_batch from parts

    union

    select entry_date, landed_batch from {{ this }}
    where {{ within_batches(rewritten) }}

),

final as (

    select
        keys.entry_date,
        keys.landed_batch,
        coalesce(parts.gross_amount_cents, 0) as gross_amount_cents,
        coalesce(parts.refunded_amount_cents, 0) as refunded_amount_cents,
        coalesce(parts.fee_cents, 0) as fee_cents,
        coalesce(parts.gift_count, 0) as gift_count,
        coalesce(parts.refund_count, 0) as refund_count,
        coalesce(parts.entry_count, 0) as entry_count,
        pass.computed_batch
    from keys
    cross join pass
    left join parts
        on keys.entry_date = parts.entry_date
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

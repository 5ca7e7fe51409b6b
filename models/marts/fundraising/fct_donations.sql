{#-
    One row per gift: the winning gift event (int_donations_deduplicated) with its distinct
    refunds (int_refunds_deduplicated), whichever arrived first, the gift or the refund.
    Cursor: `landed_batch` (macros/batch_cursor.sql) of both intermediate models: a pass
    recomputes only the gifts whose winner or refunds a batch past the cursor touched, reading
    each by its key. `landed_batch` here is the newest batch behind the gift.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete_insert_by_hash',
        post_hook="{{ record_full_rebuild() }}",
        unique_key='donation_id',
        probe_hash='donation_id_hash',
        on_schema_change='fail',
        dist='donation_id',
        sort=['landed_batch'],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor() -%}
    {%- set gifts_changed = "select donation_id from " ~ ref('int_donations_deduplicated') ~ " where landed_batch > " ~ cursor -%}
    {%- set refunds_changed = ref('int_refunds_deduplicated') ~ " where landed_batch > " ~ cursor -%}
    {%- set touched_keys = gifts_changed
        ~ " union all select donation_id from " ~ refunds_changed
        ~ " union all select superseded_donation_id from " ~ refunds_changed -%}
    {%- set touched_hashes = "select " ~ key_hash('donation_id') ~ " from (" ~ touched_keys ~ ") as touched" -%}
    {#- Gifts and facts are read within the batches that hold the touched keys, found by their
        hash (batches_holding, macros/key_hash.sql). -#}
    {%- set gift_batches = batches_holding(ref('int_donations_deduplicated'), 'donation_id_hash', touched_hashes) -%}
    {%- set fact_batches = batches_holding(this, 'donation_id_hash', touched_hashes) -%}
{%- endif %}

with

gifts as {{ inlined() }} (

    select * from {{ ref('int_donations_deduplicated') }}

),

refunds as {{ inlined() }} (

    select * from {{ ref('int_refunds_deduplicated') }}

),

{% if incremental %}
-- Every gift whose winner or refunds a batch past the cursor changed, with the newest such batch:
-- a gift that lost a refund to another changed too, though nothing of its own arrived.
touched_donations as (

    select donation_id, max(landed_batch) as touched_batch
    from (
        select donation_id, landed_batch from gifts
        where landed_batch > {{ cursor }}

        union all

        select donation_id, landed_batch from refunds
        where landed_batch > {{ cursor }}

        union all

        select superseded_donation_id, landed_batch from refunds
        where landed_batch > {{ cursor }}
            and superseded_donation_id is not null
    ) as changes
    group by donation_id

),
{% endif %}

winning_gifts as (

    select * from gifts
    {% if incremental %}
    where {{ within_batches(gift_batches) }}
        and donation_id in (select donation_id from touched_donations)
    {% endif %}

),

refund_totals as (

    select
        donation_id,
        cast(sum(amount_cents) as bigint) as refunded_amount_cents,
        count(*) as refund_count,
        max(landed_at) as last_refund_landed_at,
        max(landed_batch) as last_refund_batch
    from refunds
    {% if incremental %}
    where donation_id in (select donation_id from touched_donations)
    {% endif %}
    group by donation_id

),

{% if incremental %}
previous_loads as (

    select donation_id, first_loaded_at from {{ this }}
    where {{ within_batches(fact_batches) }}
        and donation_id in (select donation_id from touched_donations)

),
{% endif %}

final as (

    select
        -- keys
        winning_gifts.donation_id,
        winning_gifts.donation_id_hash,
        winning_gifts.event_id,
        winning_gifts.donor_id,
        winning_gifts.campaign_id,
        winning_gifts.processor_txn_id,
        {{ key_hash('winning_gifts.processor_txn_id') }} as processor_txn_id_hash,

        -- attributes
        winning_gifts.designation,
        winning_gifts.channel,
        winning_gifts.payment_method,
        winning_gifts.processor,
        winning_gifts.currency,

        -- amounts, in cents
        winning_gifts.amount_cents as gross_amount_cents,
        cast(coalesce(refund_totals.refunded_amount_cents, 0) as bigint) as refunded_amount_cents,
        cast(
            winning_gifts.amount_cents - coalesce(refund_totals.refunded_amount_cents, 0)
            as bigint
        ) as net_amount_cents,
        winning_gifts.fee_cents,

        -- flags
        winning_gifts.is_recurring,
        coalesce(refund_totals.refund_count, 0) > 0 as is_refunded,

        -- timestamps (UTC)
        winning_gifts.donated_at,
        winning_gifts.emitted_at,
        greatest(
            winning_gifts.landed_at,
            coalesce(refund_totals.last_refund_landed_at, winning_gifts.landed_at)
        ) as last_landed_at,
        {% if incremental %}
        coalesce(previous_loads.first_loaded_at, {{ to_utc_timestamp(dbt.current_timestamp()) }})
        {% else %}
        {{ to_utc_timestamp(dbt.current_timestamp()) }}
        {% endif %} as first_loaded_at,

        -- cursor: the newest batch behind the gift (or that changed it)
        greatest(
            {% if incremental %}
            touched_donations.touched_batch,
            {% endif %}
            winning_gifts.landed_batch,
            coalesce(refund_totals.last_refund_batch, winning_gifts.landed_batch)
        ) as landed_batch,

        -- trace back to the stream
        winning_gifts.shard_id,
        winning_gifts.sequence_number

    from winning_gifts
    left join refund_totals
        on winning_gifts.donation_id = refund_totals.donation_id
    {% if incremental %}
    inner join touched_donations
        on winning_gifts.donation_id = touched_donations.donation_id
    left join previous_loads
        on winning_gifts.donation_id = previous_loads.donation_id
    {% endif %}

)

select * from final

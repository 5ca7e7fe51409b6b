{#-
    The winning gift event per donation_id: a gift re-sent under a new event_id counts once, the
    earliest emitted_at winning (then the smallest event_id). No donor PII: facts read only this.
    Cursor: `landed_batch` of the staged gifts (macros/batch_cursor.sql). A pass takes the gifts
    of the new batches, probes this table for the standing winner of each of their donation_ids
    (within the batches that hold them, found by `donation_id_hash`: batches_holding,
    macros/key_hash.sql), and rewrites just those keys, deleting the old rows within those
    batches too (macros/materializations/delete_insert_by_hash.sql);
    `landed_batch` here is the newest batch behind the key, so the
    facts downstream find the keys a pass touched by the same cursor.
-#}
{{
    config(
        incremental_strategy='delete_insert_by_hash',
        unique_key='donation_id',
        probe_hash='donation_id_hash',
        on_schema_change='fail',
        dist='donation_id',
        sort=['landed_batch'],
    )
}}

{%- set incremental = is_incremental() %}
{%- if incremental %}
    {%- set cursor = batch_cursor() %}
    {%- set new_gifts = "select donation_id_hash from " ~ ref('stg_donation_platform__donations') ~ " where landed_batch > " ~ cursor %}
    {%- set standing_batches = batches_holding(this, 'donation_id_hash', new_gifts) %}
{%- endif %}

with

gifts as (

    select * from {{ ref('stg_donation_platform__donations') }}
    {% if incremental %}
    where landed_batch > {{ cursor }}
    {% endif %}

),

{#- Both sides of the union: the batch's rows and the standing rows of its keys. -#}
{%- set candidate_columns = ['donation_id', 'donation_id_hash', 'event_id', 'donor_id', 'campaign_id', 'processor_txn_id', 'designation', 'channel', 'payment_method', 'processor', 'currency', 'amount_cents', 'fee_cents', 'is_recurring', 'donated_at', 'emitted_at', 'landed_at', 'landed_batch', 'shard_id', 'sequence_number'] %}
candidates as (

    select
        {{ candidate_columns | join(',\n        ') }}
    from gifts

    {% if incremental %}
    union all

    select
        {{ candidate_columns | join(',\n        ') }}
    from {{ this }}
    where {{ within_batches(standing_batches) }}
        and donation_id in (select donation_id from gifts)
    {% endif %}

),

winners as (

    select
        candidates.*,
        max(landed_batch) over (partition by donation_id) as newest_batch
    from candidates as candidates
    qualify row_number() over (
        partition by donation_id
        order by emitted_at, event_id
    ) = 1

),

final as (

    select
        -- keys
        donation_id,
        donation_id_hash,
        event_id,
        donor_id,
        campaign_id,
        processor_txn_id,

        -- attributes
        designation,
        channel,
        payment_method,
        processor,
        currency,

        -- amounts, in cents
        amount_cents,
        fee_cents,

        -- flags
        is_recurring,

        -- timestamps (UTC)
        donated_at,
        emitted_at,
        landed_at,

        -- cursor: the newest batch behind this key
        newest_batch as landed_batch,

        -- trace back to the stream
        shard_id,
        sequence_number

    from winners

)

select * from final

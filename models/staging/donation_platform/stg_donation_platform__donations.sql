{#-
    `donation.completed` events, one row per event_id, payload typed once. A gift re-sent under a
    new event_id appears more than once here; fct_donations counts it once. Donor PII stays here.
    `donation_id_hash` (macros/key_hash.sql): the aggregates' parts find a gift's staged copies
    by it. A warehouse built before it must rebuild this model (`on_schema_change='fail'`): rows
    without the hash would be invisible to those probes.
-#}
{{ config(on_schema_change='fail') }}
{%- set json_paths = [
    'payload.donation_id',
    'payload.donor_id',
    'payload.campaign_id',
    'payload.processor_txn_id',
    'payload.currency',
    'payload.channel',
    'payload.payment_method',
    'payload.processor',
    'payload.designation',
    'payload.donor.name',
    'payload.donor.email',
    'payload.donor.postal_code',
    'payload.amount_cents',
    'payload.fee_cents',
    'payload.is_recurring',
] %}
with

events as (

    select
        *,
        {{ json_extract_many('record', json_paths) }} as extracted
    from {{ ref('stg_stream__events') }}
    where event_type = 'donation.completed'
    {% if is_incremental() %}
        and landed_batch > {{ batch_cursor() }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_pick('record', 'payload.donation_id', json_paths) }} as donation_id,
        {{ key_hash(json_pick('record', 'payload.donation_id', json_paths)) }} as donation_id_hash,
        {{ json_pick('record', 'payload.donor_id', json_paths) }} as donor_id,
        {{ json_pick('record', 'payload.campaign_id', json_paths) }} as campaign_id,
        {{ json_pick('record', 'payload.processor_txn_id', json_paths) }} as processor_txn_id,

        -- strings
        {{ json_pick('record', 'payload.currency', json_paths) }} as currency,
        {{ json_pick('record', 'payload.channel', json_paths) }} as channel,
        {{ json_pick('record', 'payload.payment_method', json_paths) }} as payment_method,
        {{ json_pick('record', 'payload.processor', json_paths) }} as processor,
        {{ json_pick('record', 'payload.designation', json_paths) }} as designation,
        {{ json_pick('record', 'payload.donor.name', json_paths) }} as donor_name,
        {{ json_pick('record', 'payload.donor.email', json_paths) }} as donor_email,
        {{ json_pick('record', 'payload.donor.postal_code', json_paths) }} as donor_postal_code,

        -- numerics
        {{ json_pick_typed('record', 'payload.amount_cents', json_paths, 'bigint') }} as amount_cents,
        {{ json_pick_typed('record', 'payload.fee_cents', json_paths, 'bigint') }} as fee_cents,

        -- booleans
        {{ json_pick_typed('record', 'payload.is_recurring', json_paths, 'boolean') }} as is_recurring,

        -- timestamps
        occurred_at as donated_at,
        emitted_at,
        landed_at,
        landed_batch,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

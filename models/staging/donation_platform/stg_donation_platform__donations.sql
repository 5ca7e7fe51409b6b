{#-
    `donation.completed` events, one row per event_id, payload typed once. A gift re-sent under a
    new event_id appears more than once here; fct_donations counts it once. Donor PII stays here.
-#}
with

events as (

    select * from {{ ref('stg_stream__events') }}
    where event_type = 'donation.completed'
    {% if is_incremental() %}
        and landed_at > {{ incremental_watermark('landed_at') }}
    {% endif %}

),

renamed as (

    select
        event_id,

        -- ids
        {{ json_field('record', 'payload.donation_id') }} as donation_id,
        {{ json_field('record', 'payload.donor_id') }} as donor_id,
        {{ json_field('record', 'payload.campaign_id') }} as campaign_id,
        {{ json_field('record', 'payload.processor_txn_id') }} as processor_txn_id,

        -- strings
        {{ json_field('record', 'payload.currency') }} as currency,
        {{ json_field('record', 'payload.channel') }} as channel,
        {{ json_field('record', 'payload.payment_method') }} as payment_method,
        {{ json_field('record', 'payload.processor') }} as processor,
        {{ json_field('record', 'payload.designation') }} as designation,
        {{ json_field('record', 'payload.donor.name') }} as donor_name,
        {{ json_field('record', 'payload.donor.email') }} as donor_email,
        {{ json_field('record', 'payload.donor.postal_code') }} as donor_postal_code,

        -- numerics
        {{ json_typed('record', 'payload.amount_cents', 'bigint') }} as amount_cents,
        {{ json_typed('record', 'payload.fee_cents', 'bigint') }} as fee_cents,

        -- booleans
        {{ json_typed('record', 'payload.is_recurring', 'boolean') }} as is_recurring,

        -- timestamps
        occurred_at as donated_at,
        emitted_at,
        landed_at,

        -- stream position, for tracing
        shard_id,
        sequence_number

    from events

)

select * from renamed

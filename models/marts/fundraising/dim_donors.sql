{#-
    Donors as the CRM described them over time: one row per CRM version (type-2 history), the
    latest updated_at current. Built from every CRM upsert on the stream, so a late or
    out-of-order upsert lands in its place in history whenever it arrives. No personal data:
    the email survives only as a keyed hash to join on; name and postal code are dropped.
    Each pass rebuilds, from all staged history, only the donors that something new touched
    (delete+insert on donor_id replaces every version of a touched donor).
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='donor_id',
        dist='donor_id',
        sort=['donor_id', 'valid_from'],
    )
}}

with

crm_upserts as (

    select * from {{ ref('stg_crm__donors') }}

),

{% if is_incremental() %}
touched_donors as (

    select distinct donor_id from crm_upserts
    where landed_at > {{ incremental_watermark('last_landed_at') }}

),
{% endif %}

-- One version per (donor, updated_at): an upsert re-sent under a new event_id is the same
-- version; the earliest emitted copy wins, as for facts.
versions as (

    select *
    from crm_upserts
    {% if is_incremental() %}
    where donor_id in (select donor_id from touched_donors)
    {% endif %}
    qualify row_number() over (
        partition by donor_id, updated_at
        order by emitted_at, event_id
    ) = 1

),

final as (

    select
        -- keys
        {{ dbt.hash(dbt.concat(['donor_id', "'|'", dbt.cast('updated_at', api.Column.translate_type('string'))])) }} as donor_version_id,
        donor_id,
        event_id,

        -- attributes (no PII in the clear)
        {{ pii_hash('email') }} as email_hash,
        is_major_donor,

        -- validity, UTC: [valid_from, valid_to)
        updated_at as valid_from,
        lead(updated_at) over (partition by donor_id order by updated_at) as valid_to,
        lead(updated_at) over (partition by donor_id order by updated_at) is null as is_current,

        -- lineage
        max(landed_at) over (partition by donor_id) as last_landed_at

    from versions

)

select * from final

{#-
    Donors as the CRM described them over time: one row per CRM version (type-2 history), the
    latest updated_at current. Built from every CRM upsert on the stream and every row of the
    CRM's export files, so a late or out-of-order version lands in its place in history whenever
    it arrives, by whichever path. No personal data: the email survives only as a keyed hash to
    join on; name and postal code are dropped.
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

crm_exports as (

    select * from {{ ref('stg_crm__donor_exports') }}

),

-- Both paths as one history. An export row has no event: its file and row stand in for the
-- event_id, and its load time is its arrival, as the landing time is an event's.
crm_records as (

    select
        event_id,
        donor_id,
        email,
        is_major_donor,
        updated_at,
        emitted_at,
        landed_at
    from crm_upserts

    union all

    select
        export_row_id as event_id,
        donor_id,
        email,
        is_major_donor,
        updated_at,
        cast(null as timestamp) as emitted_at,
        loaded_at as landed_at
    from crm_exports

),

{% if is_incremental() %}
touched_donors as (

    select distinct donor_id from crm_records
    where landed_at > {{ incremental_watermark('last_landed_at') }}

),
{% endif %}

-- One version per (donor, updated_at): the same version re-sent under a new event_id, or
-- carried by several exports, is one row. The earliest emitted copy wins, as for facts; an
-- export is written after the change it carries, so a stream copy beats every export copy, and
-- among export copies the smallest `<file>:<row>` id wins: never the order of arrival.
versions as (

    select *
    from crm_records
    {% if is_incremental() %}
    where donor_id in (select donor_id from touched_donors)
    {% endif %}
    qualify row_number() over (
        partition by donor_id, updated_at
        order by emitted_at nulls last, event_id
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

        -- lineage: newest arrival (landing or load) of anything behind the donor
        max(landed_at) over (partition by donor_id) as last_landed_at

    from versions

)

select * from final

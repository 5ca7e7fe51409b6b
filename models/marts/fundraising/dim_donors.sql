{#-
    Donors as the CRM described them over time: one row per CRM version (type-2 history), the
    latest updated_at current. Built from every CRM upsert on the stream and every row of the
    CRM's export files, so a late or out-of-order version lands in its place in history whenever
    it arrives, by whichever path. No personal data: the email survives only as a keyed hash to
    join on; name and postal code are dropped.
    Cursors: `landed_batch` of the CRM upserts (macros/batch_cursor.sql) and `load_seq` of the
    export loads (macros/batch/batch_landing.sql), both committed in order by their landing. A
    pass rebuilds only the donors a new batch or load touched, reading their versions by donor_id
    (delete+insert on donor_id replaces every version of a touched donor). A corrected export
    re-dropped under the same key replaces its file's rows: the donors whose versions came from
    that file are touched too (the export ledger says which files were reloaded, since a version
    with its header alone lands no row), and one left with no version at all is deleted (the
    pass writes it a row with no `valid_from`, which its post-hook deletes), as a full build
    never has it.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='donor_id',
        dist='donor_id',
        sort=['donor_id', 'valid_from'],
        post_hook="delete from {{ this }} where valid_from is null",
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set batch_after = batch_cursor() -%}
    {%- set load_after = batch_cursor('export_load_seq') -%}
    {%- set reloaded_keys = export_keys_corrected_since('lander.crm_donor_exports', load_after) -%}
{%- endif %}

with

crm_upserts as {{ inlined() }} (

    select * from {{ ref('stg_crm__donors') }}

),

crm_exports as {{ inlined() }} (

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
        landed_at,
        landed_batch,
        cast(null as bigint) as load_seq
    from crm_upserts

    union all

    select
        export_row_id as event_id,
        donor_id,
        email,
        is_major_donor,
        updated_at,
        cast(null as timestamp) as emitted_at,
        loaded_at as landed_at,
        cast(null as bigint) as landed_batch,
        load_seq
    from crm_exports

),

{% if incremental %}
touched_donors as (

    select donor_id from crm_upserts
    where landed_batch > {{ batch_after }}

    union

    select donor_id from crm_exports
    where load_seq > {{ load_after }}

    union

    -- A version carried by a file a corrected version replaced may be gone from it.
    select donor_id from {{ this }}
    where {% for key in reloaded_keys -%}
        event_id like {{ sql_literal(key ~ ':%') }}{{ ' or ' if not loop.last }}
    {%- else -%}
        false
    {%- endfor %}

),
{% endif %}

-- One version per (donor, updated_at): the same version re-sent under a new event_id, or
-- carried by several exports, is one row. The earliest emitted copy wins, as for facts; an
-- export is written after the change it carries, so a stream copy beats every export copy, and
-- among export copies the smallest `<file>:<row>` id wins: never the order of arrival.
versions as (

    select *
    from crm_records as crm_records
    {% if incremental %}
    where donor_id in (select donor_id from touched_donors)
    {% endif %}
    qualify row_number() over (
        partition by donor_id, updated_at
        order by emitted_at nulls last, event_id
    ) = 1

),

donor_versions as (

    select
        -- keys
        {{ surrogate_key(dbt.concat(['donor_id', "'|'", key_text('updated_at')])) }} as donor_version_id,
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
        max(landed_at) over (partition by donor_id) as last_landed_at,

        -- cursors: the newest stream batch and export load behind the donor
        max(landed_batch) over (partition by donor_id) as landed_batch,
        max(load_seq) over (partition by donor_id) as export_load_seq

    from versions

),

{% if incremental %}
-- Touched donors with no version left: a row for delete+insert to replace theirs with, deleted
-- by the post-hook.
withdrawn_donors as (

    select
        donor_id as donor_version_id,
        donor_id,
        cast(null as {{ api.Column.translate_type('string') }}) as event_id,
        cast(null as {{ api.Column.translate_type('string') }}) as email_hash,
        cast(null as boolean) as is_major_donor,
        cast(null as timestamp) as valid_from,
        cast(null as timestamp) as valid_to,
        cast(null as boolean) as is_current,
        cast(null as {{ landing_timestamp_type() }}) as last_landed_at,
        cast(null as bigint) as landed_batch,
        cast(null as bigint) as export_load_seq
    from touched_donors
    where donor_id not in (select donor_id from versions)

),

final as (

    select * from donor_versions
    union all
    select * from withdrawn_donors

)
{% else %}
final as (

    select * from donor_versions

)
{% endif %}

select * from final

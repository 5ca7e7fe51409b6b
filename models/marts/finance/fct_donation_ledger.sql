{#-
    Journal entries for every gift: the gift (credit to contributions), each distinct refund
    (a negative contribution) and the processor fee, with the GL account finance posts them to.
    Gift plus refund entries of a donation sum exactly to its fct_donations.net_amount_cents.
    A refund that arrived before its gift gets its entry when the gift arrives.
    Cursor: `landed_batch` of fct_donations (macros/batch_cursor.sql): a pass rewrites the
    entries of the gifts a batch past the cursor changed, with their refunds from
    int_refunds_deduplicated, read by donation_id.
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

with

donations as (

    select * from {{ ref('fct_donations') }}
    {% if is_incremental() %}
    where landed_batch > {{ batch_cursor() }}
    {% endif %}

),

refunds as (

    select * from {{ ref('int_refunds_deduplicated') }}

),

gl_accounts as (

    select * from {{ ref('gl_accounts') }}

),

gift_refunds as (

    select * from refunds
    where donation_id in (select donation_id from donations)

),

entries as (

    select
        donation_id,
        cast(null as varchar) as refund_id,
        'gift' as entry_type,
        gross_amount_cents as amount_cents,
        donated_at as entry_at
    from donations

    union all

    select
        donation_id,
        cast(null as varchar) as refund_id,
        'fee' as entry_type,
        -fee_cents as amount_cents,
        donated_at as entry_at
    from donations
    where fee_cents > 0

    union all

    select
        donation_id,
        refund_id,
        'refund' as entry_type,
        -amount_cents as amount_cents,
        refunded_at as entry_at
    from gift_refunds

),

final as (

    select
        -- keys
        {{ surrogate_key(dbt.concat(['entries.entry_type', "'|'", 'entries.donation_id', "'|'", "coalesce(entries.refund_id, '')"])) }} as ledger_entry_id,
        entries.donation_id,
        donations.donation_id_hash,
        entries.refund_id,
        donations.campaign_id,

        -- posting
        entries.entry_type,
        donations.designation,
        gl_accounts.gl_account_code,
        gl_accounts.gl_account_name,
        cast(entries.amount_cents as bigint) as amount_cents,

        -- timestamps (UTC)
        entries.entry_at,
        cast(entries.entry_at as date) as entry_date,
        donations.last_landed_at,
        donations.landed_batch

    from entries
    inner join donations
        on entries.donation_id = donations.donation_id
    left join gl_accounts
        on entries.entry_type = gl_accounts.entry_type
        and donations.designation = gl_accounts.designation

)

select * from final

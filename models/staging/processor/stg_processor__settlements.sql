{#-
    The payment processor's settlement exports, one row per settlement leg: (processor,
    processor_txn_id, settlement_type), a charge (gross >= 0) or a refund or chargeback of it
    (gross < 0; the export does not tell those two apart). A processor re-sends a leg in a later
    export when it corrects it; the export's own date decides which version wins
    (`export_as_of_date`: the date its file is named by, else the newest settlement it holds),
    never load order, so an older export loaded late cannot override a newer correction. Within
    one export the later settlement wins, then the values themselves, so the winner never
    depends on row order (a parallel COPY numbers rows arbitrarily).
    A file re-dropped under the same key replaces its earlier rows in the landing: its version
    of a leg replaces the earlier one, and a leg it no longer holds is withdrawn, falling back
    to another export's version if one holds it. A withdrawn leg no export holds stays as a row
    with `is_withdrawn` (its last values), so the models downstream see it go; they read only
    legs that are not withdrawn, as a full build, which never withdraws, holds them.
    Cursor: `load_seq` of the landing (one number per file, committed in order: see
    macros/batch/batch_landing.sql). A pass re-ranks, from every version the landing holds, the
    legs the new files carry and the legs whose standing version came from a file a corrected
    version reloaded; only when a file loaded. The corrected versions are read from the export
    ledger, since one that withdraws every leg (its header alone) lands no row. `latest_load_seq`
    is the newest load that touched the leg, so a file whose every version loses, or that
    withdraws its legs, still moves the cursor.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='settlement_id',
        sort=['latest_load_seq'],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor('latest_load_seq') -%}
    {%- set loaded = run_time_row(
        "select (select count(*) from " ~ source('lander', 'processor_settlements') ~ " where load_seq > " ~ cursor ~ ")"
        ~ " + (select count(*) from (" ~ export_versions_corrected_since_sql('lander.processor_settlements', cursor) ~ ") as corrected)", 1
    )[0] -%}
{%- endif %}

with

landing as (

    select * from {{ source('lander', 'processor_settlements') }}

),

{% if incremental %}
new_rows as (

    select * from landing
    where load_seq > {{ cursor }}

),

-- Corrected versions of files loaded before: their rows replaced the file's, so a leg missing
-- from them now is withdrawn.
corrected_files as (

    {{ export_versions_corrected_since_sql('lander.processor_settlements', cursor) }}

),

-- The transactions a new file carries, and those whose standing version came from a file a
-- corrected version reloaded.
touched_transactions as (

    select processor, processor_txn_id from new_rows

    union

    select processor, processor_txn_id from {{ this }}
    {% if loaded %}
    where source_key in (select source_key from corrected_files)
    {% else %}
    where false
    {% endif %}

),
{% endif %}

settlements as (

    select landing.*
    from landing
    {% if incremental %}
    inner join touched_transactions
        on landing.processor = touched_transactions.processor
        and landing.processor_txn_id = touched_transactions.processor_txn_id
    {% if not loaded %}
    where false
    {% endif %}
    {% endif %}

),

-- A file's date is read from all its rows (its name, else its newest settlement).
export_files as (

    select
        source_key,
        coalesce(
            {{ export_file_date('source_key') }},
            cast(max({{ to_utc_timestamp('settled_at') }}) as date)
        ) as export_as_of_date
    from landing
    where source_key in (select source_key from settlements)
    group by source_key

),

renamed as (

    select
        -- ids
        {{ surrogate_key(dbt.concat([
            'settlements.processor', "'|'", 'settlements.processor_txn_id', "'|'",
            "case when settlements.gross_cents < 0 then 'refund' else 'charge' end",
        ])) }} as settlement_id,
        settlements.processor,
        settlements.processor_txn_id,
        settlements.payout_id,

        -- strings
        case when settlements.gross_cents < 0 then 'refund' else 'charge' end as settlement_type,

        -- numerics
        settlements.gross_cents,
        settlements.fee_cents,
        settlements.net_cents,

        -- booleans
        false as is_withdrawn,

        -- dates
        export_files.export_as_of_date,

        -- timestamps
        {{ to_utc_timestamp('settlements.settled_at') }} as settled_at,

        -- lineage: the export file and row of this version
        settlements.source_key,
        settlements.source_row_number,
        settlements.loaded_at,
        settlements.load_seq

    from settlements
    inner join export_files
        on settlements.source_key = export_files.source_key

),

ranked as (

    select
        renamed.*,
        max(coalesce(load_seq, 0)) over (partition by settlement_id) as latest_load_seq,
        row_number() over (
            partition by settlement_id
            order by
                export_as_of_date desc,
                settled_at desc,
                source_key desc,
                net_cents desc,
                gross_cents desc,
                fee_cents desc,
                payout_id desc
        ) as version_rank
    from renamed

),

winners as (

    select
        settlement_id,
        processor,
        processor_txn_id,
        payout_id,
        settlement_type,
        gross_cents,
        fee_cents,
        net_cents,
        is_withdrawn,
        export_as_of_date,
        settled_at,
        source_key,
        source_row_number,
        loaded_at,
        load_seq,
        cast(latest_load_seq as bigint) as latest_load_seq
    from ranked
    where version_rank = 1

),

{% if incremental %}
-- Standing legs of the touched transactions that no export holds any more.
withdrawn as (

    select
        standing.settlement_id,
        standing.processor,
        standing.processor_txn_id,
        standing.payout_id,
        standing.settlement_type,
        standing.gross_cents,
        standing.fee_cents,
        standing.net_cents,
        true as is_withdrawn,
        standing.export_as_of_date,
        standing.settled_at,
        standing.source_key,
        standing.source_row_number,
        standing.loaded_at,
        standing.load_seq,
        cast((
            select max(load_seq) from (
                select load_seq from new_rows
                union all
                select load_seq from corrected_files
            ) as loads
        ) as bigint) as latest_load_seq
    from {{ this }} as standing
    inner join touched_transactions
        on standing.processor = touched_transactions.processor
        and standing.processor_txn_id = touched_transactions.processor_txn_id
    where standing.is_withdrawn is not true
        and standing.settlement_id not in (select settlement_id from winners)

),

final as (

    select * from winners
    union all
    select * from withdrawn

)
{% else %}
final as (

    select * from winners

)
{% endif %}

select * from final

{#-
    The payment processor's settlement exports, one row per settlement leg: (processor,
    processor_txn_id, settlement_type), a charge (gross >= 0) or a refund or chargeback of it
    (gross < 0; the export does not tell those two apart). A processor re-sends a leg in a later
    export when it corrects it; the export's own date decides which version wins
    (`export_as_of_date`: the date its file is named by, else the newest settlement it holds),
    never load order, so an older export loaded late cannot override a newer correction. Within
    one export the later settlement wins, then the values themselves, so the winner never
    depends on row order (a parallel COPY numbers rows arbitrarily).
    Cursor: `load_seq` of the landing (one number per file, committed in order: see
    macros/batch/batch_landing.sql); a pass weighs the new files' rows against each touched
    leg's standing winner. `latest_load_seq` is the newest load that touched the leg, so a file
    whose every version loses still moves the cursor.
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
{%- endif %}

with

settlements as (

    select * from {{ source('lander', 'processor_settlements') }}
    {% if incremental %}
    where load_seq > {{ cursor }}
    {% endif %}

),

-- A file loads whole in one load, so the new rows hold every row of each file they touch.
export_files as (

    select
        source_key,
        coalesce(
            {{ export_file_date('source_key') }},
            cast(max({{ to_utc_timestamp('settled_at') }}) as date)
        ) as export_as_of_date
    from settlements
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

        -- dates
        export_files.export_as_of_date,

        -- timestamps
        {{ to_utc_timestamp('settlements.settled_at') }} as settled_at,

        -- lineage: the export file and row of this version
        settlements.source_key,
        settlements.source_row_number,
        settlements.loaded_at,
        settlements.load_seq,
        settlements.load_seq as latest_load_seq

    from settlements
    inner join export_files
        on settlements.source_key = export_files.source_key

),

candidates as (

    select * from renamed

    {% if incremental %}
    union all

    select
        settlement_id,
        processor,
        processor_txn_id,
        payout_id,
        settlement_type,
        gross_cents,
        fee_cents,
        net_cents,
        export_as_of_date,
        settled_at,
        source_key,
        source_row_number,
        loaded_at,
        load_seq,
        latest_load_seq
    from {{ this }}
    where settlement_id in (select settlement_id from renamed)
    {% endif %}

),

ranked as (

    select
        candidates.*,
        max(coalesce(latest_load_seq, 0)) over (partition by settlement_id) as newest_load_seq,
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
    from candidates

),

final as (

    select
        settlement_id,
        processor,
        processor_txn_id,
        payout_id,
        settlement_type,
        gross_cents,
        fee_cents,
        net_cents,
        export_as_of_date,
        settled_at,
        source_key,
        source_row_number,
        loaded_at,
        load_seq,
        cast(newest_load_seq as bigint) as latest_load_seq
    from ranked
    where version_rank = 1

)

select * from final

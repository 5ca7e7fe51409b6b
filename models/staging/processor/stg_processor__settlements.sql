{#-
    The payment processor's settlement exports, one row per processor transaction. A processor
    re-sends a transaction in a later export when it corrects it, so the latest export wins
    (by load, then file, then row), and the file and row it came from are kept for tracing.
-#}

with

settlements as (

    select * from {{ source('lander', 'processor_settlements') }}

),

latest_export as (

    select *
    from settlements
    qualify row_number() over (
        partition by processor, processor_txn_id
        order by loaded_at desc, source_key desc, source_row_number desc
    ) = 1

),

renamed as (

    select
        -- ids
        processor,
        processor_txn_id,
        payout_id,

        -- numerics
        gross_cents,
        fee_cents,
        net_cents,

        -- timestamps
        {{ to_utc_timestamp('settled_at') }} as settled_at,

        -- lineage: the export file and row that won
        source_key,
        source_row_number,
        loaded_at

    from latest_export

)

select * from renamed

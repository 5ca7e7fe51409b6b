{#-
    The payment processor's settlement export, one row per processor transaction. Read from a
    seed today; the batch path will load the processor's files here instead.
-#}
with

settlements as (

    select * from {{ ref('processor_settlements') }}

),

renamed as (

    select
        -- ids
        processor,
        processor_txn_id,
        payout_id,

        -- numerics
        cast(gross_cents as bigint) as gross_cents,
        cast(fee_cents as bigint) as fee_cents,
        cast(net_cents as bigint) as net_cents,

        -- timestamps
        cast(settled_at as timestamp) as settled_at

    from settlements

)

select * from renamed

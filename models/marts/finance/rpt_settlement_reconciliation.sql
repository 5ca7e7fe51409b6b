{#-
    Every processor transaction, from either side, matched against the processor's settlement
    export: matched, missing from the settlement, missing from our gifts, or settled for a
    different gross or fee. Gifts with no processor (cash, cheques) are not expected to settle.
-#}
with

donations as (

    select * from {{ ref('fct_donations') }}
    where processor_txn_id is not null

),

settlements as (

    select * from {{ ref('stg_processor__settlements') }}

),

matched as (

    select
        coalesce(donations.processor, settlements.processor) as processor,
        coalesce(donations.processor_txn_id, settlements.processor_txn_id) as processor_txn_id,
        donations.donation_id,
        settlements.payout_id,
        donations.gross_amount_cents as donation_gross_cents,
        settlements.gross_cents as settlement_gross_cents,
        donations.fee_cents as donation_fee_cents,
        settlements.fee_cents as settlement_fee_cents,
        settlements.net_cents as settlement_net_cents,
        donations.donated_at,
        settlements.settled_at
    from donations
    full outer join settlements
        on donations.processor = settlements.processor
        and donations.processor_txn_id = settlements.processor_txn_id

),

final as (

    select
        -- keys
        {{ dbt.hash(dbt.concat(['processor', "'|'", 'processor_txn_id'])) }} as reconciliation_id,
        processor,
        processor_txn_id,
        donation_id,
        payout_id,

        -- outcome
        case
            when donation_id is null then 'missing_in_donations'
            when settlement_gross_cents is null then 'missing_in_settlement'
            when donation_gross_cents <> settlement_gross_cents
                or donation_fee_cents <> settlement_fee_cents then 'amount_mismatch'
            else 'matched'
        end as reconciliation_status,

        -- amounts, in cents
        donation_gross_cents,
        settlement_gross_cents,
        cast(coalesce(settlement_gross_cents, 0) - coalesce(donation_gross_cents, 0) as bigint)
            as gross_difference_cents,
        donation_fee_cents,
        settlement_fee_cents,
        settlement_net_cents,

        -- timestamps (UTC)
        donated_at,
        settled_at

    from matched

)

select * from final

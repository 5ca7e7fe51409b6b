{#-
    Every settlement leg, from either side, at the processor's grain: (processor,
    processor_txn_id, settlement_type), a charge or a refund (refunds and chargebacks are
    separate legs of the transaction, never merged into the charge). Our side is the gift's
    fct_donation_ledger entries (gift and fee for the charge; its refunds for the refund leg),
    the processor's is stg_processor__settlements. Statuses (docs/analysts.md):
    matched, amount_mismatch, missing_in_settlement, missing_in_donations, pending (ours, newer
    than the processor's settlement cutoff: int_processor_settlement_cutoffs) and
    duplicate_processor_txn (two of our gifts name one transaction: a status, so one bad record
    never stops the build). Gifts with no processor (cash, cheques) are not expected to settle.
    Cursors: `donation_batch` (the newest landed_batch of fct_donations behind the row) and
    `settlement_load_seq` (the newest settlement load). A pass recomputes the transactions a new
    batch or a new export touched, plus the pending legs of a processor whose cutoff moved; each
    read by its key, all its legs rewritten together: the unique key is the transaction, not the
    leg, so a leg that vanished (a refund moved to another gift by a winning re-send) is deleted,
    not left standing (delete+insert removes only the keys its new rows carry). A transaction a
    settlement load touched is deleted before the pass (pre-hooks), after its days are recorded
    for rpt_daily_close (macros/finance/settlement_corrections.sql): a corrected export may
    withdraw its only leg, or move it to another day. A leg the export withdrew
    (`is_withdrawn`) is no leg. A moved cutoff (either way) re-examines the pending and
    missing legs of its processor.
-#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['processor', 'processor_txn_id'],
        sort=['reconciled_pass'],
        pre_hook=[
            "{{ record_reconciliation_departures() }}",
            "{{ delete_settlement_touched_transactions() }}",
        ],
    )
}}

{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set donation_cursor = batch_cursor('donation_batch') -%}
    {%- set settlement_cursor = batch_cursor('settlement_load_seq') -%}
    {%- set reconciled_pass = batch_cursor('reconciled_pass') + 1 -%}
    {#- Our gifts, and their ledger entries, are read within the batches that hold the touched
        transactions, found by their hash (batches_holding, macros/key_hash.sql): an entry
        carries the landed_batch of the fct_donations row it was written from. -#}
    {%- set moved_cutoffs = "select processor from " ~ ref('int_processor_settlement_cutoffs') ~ " where latest_load_seq > " ~ settlement_cursor -%}
    {%- set touched_txn_ids -%}
        select processor_txn_id from {{ ref('fct_donations') }}
        where landed_batch > {{ donation_cursor }}
        union all
        select processor_txn_id from {{ ref('stg_processor__settlements') }}
        where latest_load_seq > {{ settlement_cursor }}
        union all
        select processor_txn_id from {{ this }}
        where reconciliation_status in ('pending', 'missing_in_settlement')
            and processor in ({{ moved_cutoffs }})
    {%- endset -%}
    {#- Gifts with no processor (cash, cheques) share the hash of a null: never probed by it. -#}
    {%- set touched_hashes = "select " ~ key_hash('processor_txn_id') ~ " from (" ~ touched_txn_ids ~ ") as touched where processor_txn_id is not null" -%}
    {%- set donation_batches = batches_holding(ref('fct_donations'), 'processor_txn_id_hash', touched_hashes) -%}
{%- else -%}
    {%- set reconciled_pass = 1 -%}
{%- endif %}

with

donations as {{ inlined() }} (

    select * from {{ ref('fct_donations') }}
    where processor_txn_id is not null

),

ledger as (

    select * from {{ ref('fct_donation_ledger') }}
    {% if incremental %}
    where {{ within_batches(donation_batches) }}
    {% endif %}

),

settlements as {{ inlined() }} (

    select * from {{ ref('stg_processor__settlements') }}
    where is_withdrawn is not true

),

cutoffs as {{ inlined() }} (

    select * from {{ ref('int_processor_settlement_cutoffs') }}

),

{% if incremental %}
touched_transactions as (

    select processor, processor_txn_id from donations
    where landed_batch > {{ donation_cursor }}

    union

    -- Withdrawn legs too: their transactions lost a leg.
    select processor, processor_txn_id from {{ ref('stg_processor__settlements') }}
    where latest_load_seq > {{ settlement_cursor }}

    union

    -- A moved cutoff can turn a pending leg missing, or (moved back) a missing leg pending.
    select processor, processor_txn_id from {{ this }}
    where reconciliation_status in ('pending', 'missing_in_settlement')
        and processor in ({{ moved_cutoffs }})

),
{% endif %}

our_donations as (

    select donations.*
    from donations
    {% if incremental %}
    inner join touched_transactions
        on donations.processor = touched_transactions.processor
        and donations.processor_txn_id = touched_transactions.processor_txn_id
    where {{ within_batches(donation_batches) }}
    {% endif %}

),

our_entries as (

    select
        our_donations.processor,
        our_donations.processor_txn_id,
        case when ledger.entry_type = 'refund' then 'refund' else 'charge' end as settlement_type,
        ledger.donation_id,
        ledger.entry_type,
        ledger.amount_cents,
        ledger.entry_at,
        our_donations.landed_batch
    from ledger
    inner join our_donations
        on ledger.donation_id_hash = our_donations.donation_id_hash
        and ledger.donation_id = our_donations.donation_id

),

our_legs as (

    select
        processor,
        processor_txn_id,
        settlement_type,
        min(donation_id) as donation_id,
        count(distinct donation_id) as donation_count,
        cast(sum(case when entry_type = 'fee' then 0 else amount_cents end) as bigint)
            as donation_gross_cents,
        cast(-sum(case when entry_type = 'fee' then amount_cents else 0 end) as bigint)
            as donation_fee_cents,
        max(entry_at) as entry_at,
        max(landed_batch) as donation_batch
    from our_entries
    group by processor, processor_txn_id, settlement_type

),

settlement_legs as (

    select settlements.*
    from settlements
    {% if incremental %}
    inner join touched_transactions
        on settlements.processor = touched_transactions.processor
        and settlements.processor_txn_id = touched_transactions.processor_txn_id
    {% endif %}

),

legs as (

    select
        coalesce(our_legs.processor, settlement_legs.processor) as processor,
        coalesce(our_legs.processor_txn_id, settlement_legs.processor_txn_id) as processor_txn_id,
        coalesce(our_legs.settlement_type, settlement_legs.settlement_type) as settlement_type,
        our_legs.donation_id,
        coalesce(our_legs.donation_count, 0) as donation_count,
        settlement_legs.payout_id,
        our_legs.donation_gross_cents,
        settlement_legs.gross_cents as settlement_gross_cents,
        our_legs.donation_fee_cents,
        settlement_legs.fee_cents as settlement_fee_cents,
        settlement_legs.net_cents as settlement_net_cents,
        our_legs.entry_at,
        settlement_legs.settled_at,
        settlement_legs.export_as_of_date,
        settlement_legs.source_key as settlement_source_key,
        our_legs.donation_batch,
        settlement_legs.latest_load_seq as settlement_load_seq
    from our_legs
    full outer join settlement_legs
        on our_legs.processor = settlement_legs.processor
        and our_legs.processor_txn_id = settlement_legs.processor_txn_id
        and our_legs.settlement_type = settlement_legs.settlement_type

),

final as (

    select
        -- keys
        {{ surrogate_key(dbt.concat([
            'legs.processor', "'|'", 'legs.processor_txn_id', "'|'", 'legs.settlement_type',
        ])) }} as reconciliation_id,
        legs.processor,
        legs.processor_txn_id,
        legs.settlement_type,
        legs.donation_id,
        legs.payout_id,

        -- outcome
        case
            when legs.donation_count > 1 then 'duplicate_processor_txn'
            when legs.donation_id is null then 'missing_in_donations'
            when legs.settlement_gross_cents is null
                and (
                    cutoffs.settlement_cutoff_at is null
                    or legs.entry_at > cutoffs.settlement_cutoff_at
                ) then 'pending'
            when legs.settlement_gross_cents is null then 'missing_in_settlement'
            when legs.donation_gross_cents <> legs.settlement_gross_cents then 'amount_mismatch'
            -- A refund's fee is the processor's business (a chargeback fee); only a charge's
            -- fee is ours to match.
            when legs.settlement_type = 'charge'
                and legs.donation_fee_cents <> legs.settlement_fee_cents then 'amount_mismatch'
            else 'matched'
        end as reconciliation_status,
        cast(legs.donation_count as bigint) as donation_count,

        -- amounts, in cents
        legs.donation_gross_cents,
        cast(legs.settlement_gross_cents as bigint) as settlement_gross_cents,
        cast(
            coalesce(legs.settlement_gross_cents, 0) - coalesce(legs.donation_gross_cents, 0)
            as bigint
        ) as gross_difference_cents,
        legs.donation_fee_cents,
        cast(legs.settlement_fee_cents as bigint) as settlement_fee_cents,
        cast(legs.settlement_net_cents as bigint) as settlement_net_cents,

        -- dates and timestamps (UTC)
        legs.entry_at as donated_at,
        legs.settled_at,
        legs.export_as_of_date,
        -- Only for the legs it decides (pending or missing): the ones a moved cutoff re-examines.
        case
            when legs.donation_count <= 1
                and legs.donation_id is not null
                and legs.settlement_gross_cents is null
                then cutoffs.settlement_cutoff_at
        end as settlement_cutoff_at,

        -- lineage and cursors
        legs.settlement_source_key,
        cast(legs.donation_batch as bigint) as donation_batch,
        cast(legs.settlement_load_seq as bigint) as settlement_load_seq,
        cast({{ reconciled_pass }} as bigint) as reconciled_pass

    from legs
    left join cutoffs
        on legs.processor = cutoffs.processor

)

select * from final

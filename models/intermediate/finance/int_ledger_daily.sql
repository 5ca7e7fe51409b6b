{#-
    fct_donation_ledger summed per UTC day and landing batch: the parts rpt_daily_close adds up,
    re-summed per batch (macros/summed_per_batch.sql). So a late gift costs its batch, not its
    day: a day's ledger is the whole day's gifts (69M events at the brief's average), a batch a
    minute's.
-#}
{{
    config(
        unique_key=['entry_date', 'landed_batch'],
        on_schema_change='fail',
        sort=['entry_date'],
    )
}}

{{ summed_per_batch(
    ref('fct_donation_ledger'),
    group_by=[['entry_date', 'entry_date']],
    measures=[
        ["cast(sum(case when entry_type = 'gift' then amount_cents else 0 end) as bigint)", 'gross_amount_cents', 0],
        ["cast(-sum(case when entry_type = 'refund' then amount_cents else 0 end) as bigint)", 'refunded_amount_cents', 0],
        ["cast(-sum(case when entry_type = 'fee' then amount_cents else 0 end) as bigint)", 'fee_cents', 0],
        ["cast(sum(case when entry_type = 'gift' then 1 else 0 end) as bigint)", 'gift_count', 0],
        ["cast(sum(case when entry_type = 'refund' then 1 else 0 end) as bigint)", 'refund_count', 0],
        ['cast(count(*) as bigint)', 'entry_count', 0],
    ],
) }}

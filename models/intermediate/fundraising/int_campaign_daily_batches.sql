{#-
    fct_donations summed per campaign, UTC day of the gift and landing batch: the parts
    int_campaign_daily adds up, re-summed per batch (macros/summed_per_batch.sql). A gift whose
    winning copy moved it to another campaign or day left its old batch, so its old pair is
    re-summed without reading that day's gifts.
-#}
{{
    config(
        unique_key=['campaign_id', 'donated_date', 'landed_batch'],
        on_schema_change='fail',
        dist='campaign_id',
        sort=['donated_date'],
    )
}}

{{ summed_per_batch(
    ref('fct_donations'),
    group_by=[['campaign_id', 'campaign_id'], ['cast(donated_at as date)', 'donated_date']],
    measures=[
        ['cast(count(*) as bigint)', 'gift_count', 0],
        ['cast(sum(gross_amount_cents) as bigint)', 'gross_amount_cents', 0],
        ['cast(sum(net_amount_cents) as bigint)', 'net_amount_cents', 0],
        ['max(donated_at)', 'last_donated_at', none],
    ],
) }}

{#-
    Which donors gave to which campaign, and how many gifts: the distinct donors of
    agg_campaign_progress, which no per-day sum can give.
    Cursor: `landed_batch` of fct_donations, kept in lander.processed_batches
    (macros/batch_cursor.sql). A pass recounts only the (campaign, donor) pairs a changed gift is
    in or was in (its staged copies hold every version), an emptied pair as zero gifts.
-#}
{{
    config(
        unique_key=['campaign_id', 'donor_id'],
        dist='campaign_id',
        post_hook=[
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('fct_donations')) }}",
        ],
    )
}}

-- depends_on: {{ ref('stg_donation_platform__donations') }}

{%- set incremental = is_incremental() %}
{%- if incremental %}
    {%- set cursor = processed_batch_cursor() %}
    {%- set changed_gifts = "select donation_id from " ~ ref('fct_donations') ~ " where landed_batch > " ~ cursor %}
    {#- The staged copies are read within the batches that hold them (batches_holding). #}
    {%- set staged_batches = batches_holding(ref('stg_donation_platform__donations'), 'donation_id', changed_gifts) %}
{%- endif %}

with

{% if incremental %}
changed as (

    select donation_id, campaign_id, donor_id from {{ ref('fct_donations') }}
    where landed_batch > {{ cursor }}

),

touched as (

    select distinct campaign_id, donor_id
    from (
        select campaign_id, donor_id from changed

        union all

        select staged.campaign_id, staged.donor_id
        from {{ ref('stg_donation_platform__donations') }} as staged
        where {{ within_batches(staged_batches) }}
            and staged.donation_id in (select donation_id from changed)
    ) as pairs

),
{% endif %}

counted as (

    select
        donations.campaign_id,
        donations.donor_id,
        cast(count(*) as bigint) as gift_count
    from {{ ref('fct_donations') }} as donations
    {% if incremental %}
    inner join touched
        on donations.campaign_id = touched.campaign_id
        and donations.donor_id = touched.donor_id
    {% endif %}
    group by donations.campaign_id, donations.donor_id

),

{% if incremental %}
final as (

    select
        touched.campaign_id,
        touched.donor_id,
        coalesce(counted.gift_count, 0) as gift_count
    from touched
    left join counted
        on touched.campaign_id = counted.campaign_id
        and touched.donor_id = counted.donor_id

)
{% else %}
final as (

    select * from counted

)
{% endif %}

select * from final

{#-
    Gifts and dollars per campaign and day of the gift, the grain the live dashboard sums.
    Cursor: `landed_batch` of fct_donations, kept in lander.processed_batches
    (macros/batch_cursor.sql). A pass recomputes only the (campaign, day) pairs that a gift
    changed by the new batches is in, or was in: a gift whose winning copy moved it to another
    campaign or day leaves its old pair too, found among the gift's staged copies (every version
    it ever had is one). Each pair is recomputed from fct_donations within the touched days, a
    range the warehouse prunes by donated_at, so a pass reads days, not the history.
-#}
{{
    config(
        unique_key=['campaign_id', 'donated_date'],
        dist='campaign_id',
        sort=['donated_date'],
        post_hook=[
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('fct_donations')) }}",
        ],
    )
}}

{%- set incremental = is_incremental() -%}
{%- set cursor = processed_batch_cursor() if incremental else 0 -%}

{%- set changed_gifts -%}
    select donation_id from {{ ref('fct_donations') }}
    where landed_batch > {{ cursor }}
{%- endset -%}

{#- The staged copies are read within the batches that hold them, found by the gifts' hash
    (batches_holding, macros/key_hash.sql). -#}
{%- set changed_hashes = "select donation_id_hash from " ~ ref('fct_donations') ~ " where landed_batch > " ~ cursor -%}
{%- set staged_batches = batches_holding(ref('stg_donation_platform__donations'), 'donation_id_hash', changed_hashes) if incremental else none -%}

{%- set touched_pairs -%}
    select distinct campaign_id, cast(donated_at as date) as donated_date
    from (
        select donation_id, campaign_id, donated_at from {{ ref('fct_donations') }}
        where landed_batch > {{ cursor }}

        union all

        select staged.donation_id, staged.campaign_id, staged.donated_at
        from {{ ref('stg_donation_platform__donations') }} as staged
        where {{ within_batches(staged_batches) }}
            and staged.donation_id in ({{ changed_gifts }})
    ) as changed
{%- endset -%}

{%- if incremental -%}
    {%- set days = touched_days(touched_pairs, 'donated_date') -%}
{%- endif %}

with

{% if incremental %}
touched as (

    {{ touched_pairs }}

),
{% endif %}

donations as (

    select * from {{ ref('fct_donations') }}
    {% if incremental %}
    {{ within_days('donated_at', days) }}
    {% endif %}

),

daily as (

    select
        campaign_id,
        cast(donated_at as date) as donated_date,
        cast(count(*) as bigint) as gift_count,
        cast(sum(gross_amount_cents) as bigint) as gross_amount_cents,
        cast(sum(net_amount_cents) as bigint) as net_amount_cents,
        max(donated_at) as last_donated_at,
        max(landed_batch) as landed_batch
    from donations
    group by campaign_id, cast(donated_at as date)

),

{% if incremental %}
-- Every touched pair is rewritten, an emptied one as zeros: delete+insert replaces only the
-- keys it is given.
final as (

    select
        touched.campaign_id,
        touched.donated_date,
        coalesce(daily.gift_count, 0) as gift_count,
        coalesce(daily.gross_amount_cents, 0) as gross_amount_cents,
        coalesce(daily.net_amount_cents, 0) as net_amount_cents,
        daily.last_donated_at,
        daily.landed_batch
    from touched
    left join daily
        on touched.campaign_id = daily.campaign_id
        and touched.donated_date = daily.donated_date

)
{% else %}
final as (

    select * from daily

)
{% endif %}

select * from final

{#-
    Gifts and dollars per campaign and day of the gift, the grain the live dashboard sums.
    Cursor: `computed_batch` of int_campaign_daily_batches, the parts it reads, kept in
    lander.processed_batches (macros/batch_cursor.sql): marked from what it read, so a
    selection that ran this model before its parts caught up leaves the parts' new batches
    past the mark. A pass recomputes only the (campaign, day) pairs a part of
    int_campaign_daily_batches (per pair and landing batch) written since is in, by summing the
    pair's parts: a gift that moved to another campaign or day re-summed its old part too, so a
    pass reads parts, not the days' gifts. A pair every gift left is deleted (post-hook), as a
    full build has no row for it.
-#}
{{
    config(
        unique_key=['campaign_id', 'donated_date'],
        dist='campaign_id',
        sort=['donated_date'],
        post_hook=[
            "delete from {{ this }} where gift_count = 0",
            "{{ forget_processed_batches() }}",
            "{{ record_processed_batches(ref('int_campaign_daily_batches'), column='computed_batch') }}",
        ],
    )
}}

{%- set incremental = is_incremental() -%}
{%- set cursor = processed_batch_cursor() if incremental else 0 %}

with

parts as (

    select * from {{ ref('int_campaign_daily_batches') }}

),

{% if incremental %}
touched as (

    select distinct campaign_id, donated_date from parts
    where computed_batch > {{ cursor }}

),
{% endif %}

final as (

    select
        parts.campaign_id,
        parts.donated_date,
        cast(sum(parts.gift_count) as bigint) as gift_count,
        cast(sum(parts.gross_amount_cents) as bigint) as gross_amount_cents,
        cast(sum(parts.net_amount_cents) as bigint) as net_amount_cents,
        max(parts.last_donated_at) as last_donated_at,
        max(case when parts.gift_count > 0 then parts.landed_batch end) as landed_batch
    from parts
    {% if incremental %}
    inner join touched
        on parts.campaign_id = touched.campaign_id
        and parts.donated_date = touched.donated_date
    {% endif %}
    group by parts.campaign_id, parts.donated_date

)

select * from final

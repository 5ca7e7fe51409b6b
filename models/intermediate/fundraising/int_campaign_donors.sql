{#-
    Which donors gave to which campaign, and how many gifts: the distinct donors of
    agg_campaign_progress, which no per-day sum can give.
    Cursor: `landed_batch` of fct_donations, kept in lander.processed_batches
    (macros/batch_cursor.sql). A pass moves counts, it does not recount: each gift a batch
    changed adds one to the pair it is in now and takes one from the pair it was counted in
    before, if it was. Recounting a touched pair read `campaign_id, donor_id` of every gift
    (0.68 s of a normal minute at 10M events of history); a pass now reads the changed gifts,
    their staged copies and the standing rows of their pairs, far fewer than the gifts.
    The pair a gift was counted in is the one of the copy that won when the last pass ran:
    int_donations_deduplicated's rule (earliest emitted_at, then smallest event_id) over the
    gift's staged copies in batches up to the cursor. That pass had processed exactly those:
    a copy it processed raised the gift's landed_batch in fct_donations to the copy's batch at
    least, so to the cursor at most. A gift with no such copy was never counted. A pair every
    gift left is deleted (post-hook), as a full build has no row for it.
-#}
{{
    config(
        unique_key=['campaign_id', 'donor_id'],
        dist='campaign_id',
        post_hook=[
            "delete from {{ this }} where gift_count = 0",
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
    {#- The staged copies are read within the batches that hold them, found by the gifts' hash
        (batches_holding, macros/key_hash.sql). -#}
    {%- set changed_hashes = "select donation_id_hash from " ~ ref('fct_donations') ~ " where landed_batch > " ~ cursor %}
    {%- set staged_batches = batches_holding(ref('stg_donation_platform__donations'), 'donation_id_hash', changed_hashes) %}
{%- endif %}

with

{% if incremental %}
changed as (

    select donation_id, campaign_id, donor_id from {{ ref('fct_donations') }}
    where landed_batch > {{ cursor }}

),

counted_before as (

    select staged.donation_id, staged.campaign_id, staged.donor_id
    from {{ ref('stg_donation_platform__donations') }} as staged
    where {{ within_batches(staged_batches) }}
        and staged.landed_batch <= {{ cursor }}
        and staged.donation_id in (select donation_id from changed)
    qualify row_number() over (
        partition by staged.donation_id
        order by staged.emitted_at, staged.event_id
    ) = 1

),

moves as (

    select campaign_id, donor_id, cast(sum(gifts) as bigint) as gifts
    from (
        select campaign_id, donor_id, 1 as gifts from changed

        union all

        select campaign_id, donor_id, -1 as gifts from counted_before
    ) as moved
    group by campaign_id, donor_id

),

final as (

    select
        moves.campaign_id,
        moves.donor_id,
        cast(coalesce(standing.gift_count, 0) + moves.gifts as bigint) as gift_count
    from moves
    left join {{ this }} as standing
        on moves.campaign_id = standing.campaign_id
        and moves.donor_id = standing.donor_id
    -- A gift that stayed in its pair (a refund, a re-send that lost) moves nothing.
    where moves.gifts != 0

)
{% else %}
final as (

    select
        campaign_id,
        donor_id,
        cast(count(*) as bigint) as gift_count
    from {{ ref('fct_donations') }}
    group by campaign_id, donor_id

)
{% endif %}

select * from final

{#-
    Distinct refunds: one row per refund_id, the earliest emitted_at winning (then the smallest
    event_id), whichever donation_id the winning copy names. A refund re-sent under another
    donation_id is one refund, applied to one gift, on a full build and incrementally alike.
    Cursor: `landed_batch` of the staged refunds, as int_donations_deduplicated. When a late copy
    wins and names another gift, `superseded_donation_id` keeps the gift that lost the refund,
    so fct_donations recomputes both.
-#}
{{
    config(
        unique_key='refund_id',
        dist='donation_id',
        sort=['landed_batch'],
    )
}}

{%- set incremental = is_incremental() %}

with

refunds as (

    select * from {{ ref('stg_donation_platform__refunds') }}
    {% if incremental %}
    where landed_batch > {{ batch_cursor() }}
    {% endif %}

),

{% if incremental %}
standing as (

    select * from {{ this }}
    where refund_id in (select refund_id from refunds)

),
{% endif %}

{#- Both sides of the union: the batch's rows and the standing rows of its keys. -#}
{%- set candidate_columns = ['refund_id', 'donation_id', 'event_id', 'reason', 'amount_cents', 'refunded_at', 'emitted_at', 'landed_at', 'landed_batch'] %}
candidates as (

    select
        {{ candidate_columns | join(',\n        ') }}
    from refunds

    {% if incremental %}
    union all

    select
        {{ candidate_columns | join(',\n        ') }}
    from standing
    {% endif %}

),

winners as (

    select
        candidates.*,
        max(landed_batch) over (partition by refund_id) as newest_batch
    from candidates as candidates
    qualify row_number() over (
        partition by refund_id
        order by emitted_at, event_id
    ) = 1

),

final as (

    select
        -- keys
        winners.refund_id,
        winners.donation_id,
        winners.event_id,

        -- attributes
        winners.reason,

        -- amounts, in cents
        winners.amount_cents,

        -- timestamps (UTC)
        winners.refunded_at,
        winners.emitted_at,
        winners.landed_at,

        -- cursor: the newest batch behind this key
        winners.newest_batch as landed_batch,

        -- the gift that held this refund until this pass, when the winner moved it
        {% if incremental %}
        case
            when standing.donation_id <> winners.donation_id then standing.donation_id
        end
        {% else %}
        cast(null as varchar)
        {% endif %} as superseded_donation_id

    from winners
    {% if incremental %}
    left join standing
        on winners.refund_id = standing.refund_id
    {% endif %}

)

select * from final

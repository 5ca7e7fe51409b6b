{#-
    Every partner order once (the earliest emitted_at wins, then the smallest event_id), in its
    place in the queue of its partner and site: shipments fill a pair's orders first-come
    first-served by (ordered_at, order_id), and `requested_through_lbs` is what the pair asked
    for up to and including the order. rpt_open_partner_orders weighs it against the pair's
    shipments.
    Cursor: `landed_batch` of the staged orders (macros/batch_cursor.sql). An order a batch
    changes, or moves, shifts the running sum of every later order of its pair, so a pass
    rewrites each touched pair from the first place a changed order takes or left, and nothing
    before it: new orders, placed last, rewrite only themselves. Every row a pass writes carries
    the pass's newest batch, so rpt_open_partner_orders finds them by the same cursor.
-#}
{{
    config(
        unique_key='order_id',
        dist='partner_id',
        sort=['landed_batch'],
    )
}}

{%- set incremental = is_incremental() %}
{%- set columns = ['order_id', 'event_id', 'partner_id', 'site_id', 'requested_lbs', 'needed_by', 'ordered_at', 'emitted_at'] %}
{%- if incremental %}
    {%- set cursor = batch_cursor() %}
    {%- set new_orders = "select order_id from " ~ ref('stg_partner_api__orders') ~ " where landed_batch > " ~ cursor %}
    {#- Every staged copy of a touched order, read within the batches that hold them. #}
    {%- set staged_batches = batches_holding(ref('stg_partner_api__orders'), 'order_id', new_orders) %}
{%- endif %}

with

copies as (

    select
        {{ columns | join(',\n        ') }},
        landed_batch
    from {{ ref('stg_partner_api__orders') }}
    {% if incremental %}
    where {{ within_batches(staged_batches) }}
        and order_id in ({{ new_orders }})
    {% endif %}

),

winners as (

    select
        {{ columns | join(',\n        ') }},
        max(landed_batch) over (partition by order_id) as newest_batch
    from copies as copies
    qualify row_number() over (
        partition by order_id
        order by emitted_at, event_id
    ) = 1

),

{% if incremental %}
standing as (

    select order_id, partner_id, site_id, ordered_at
    from {{ this }}
    where order_id in (select order_id from winners)

),

{#- Per pair, the first place a changed order takes (its winning copy) or left (its standing
    row): the pair's queue is rewritten from there on. -#}
changed_places as (

    select partner_id, site_id, ordered_at, order_id from winners

    union all

    select partner_id, site_id, ordered_at, order_id from standing

),

requeued_from as (

    select
        partner_id,
        site_id,
        ordered_at as from_ordered_at,
        order_id as from_order_id
    from changed_places as changed_places
    qualify row_number() over (
        partition by partner_id, site_id
        order by ordered_at, order_id
    ) = 1

),

{#- The standing rows of the requeued pairs that no changed order is: each either ahead of the
    first changed place (kept, summed into the base) or behind it (rewritten). -#}
pair_rows as {{ inlined() }} (

    select
        queue.*,
        queue.ordered_at > requeued_from.from_ordered_at
        or (
            queue.ordered_at = requeued_from.from_ordered_at
            and queue.order_id >= requeued_from.from_order_id
        ) as is_behind
    from {{ this }} as queue
    inner join requeued_from
        on queue.partner_id = requeued_from.partner_id
        and queue.site_id = requeued_from.site_id
    where queue.order_id not in (select order_id from winners)

),

ahead as (

    select
        partner_id,
        site_id,
        sum(requested_lbs) as requested_ahead_lbs
    from pair_rows
    where not is_behind
    group by partner_id, site_id

),

rewritten as (

    select
        {{ columns | join(',\n        ') }}
    from pair_rows
    where is_behind

    union all

    select
        {{ columns | join(',\n        ') }}
    from winners

),

pass as (

    select max(newest_batch) as pass_batch from winners

),
{% else %}
rewritten as (

    select
        {{ columns | join(',\n        ') }},
        newest_batch
    from winners

),
{% endif %}

queued as (

    select
        rewritten.*,
        {% if incremental %}
        coalesce(ahead.requested_ahead_lbs, 0)
        {% else %}
        0
        {% endif %}
        + sum(rewritten.requested_lbs) over (
            partition by rewritten.partner_id, rewritten.site_id
            order by rewritten.ordered_at, rewritten.order_id
            rows between unbounded preceding and current row
        ) as requested_through_lbs
    from rewritten
    {% if incremental %}
    left join ahead
        on rewritten.partner_id = ahead.partner_id
        and rewritten.site_id = ahead.site_id
    {% endif %}

),

final as (

    select
        -- keys
        queued.order_id,
        queued.event_id,
        queued.partner_id,
        queued.site_id,

        -- quantities
        cast(queued.requested_lbs as decimal(18, 3)) as requested_lbs,
        cast(queued.requested_through_lbs as decimal(18, 3)) as requested_through_lbs,

        -- dates and timestamps (UTC)
        queued.needed_by,
        queued.ordered_at,
        queued.emitted_at,

        -- cursor: the pass that last wrote the row's place
        {% if incremental %}
        pass.pass_batch as landed_batch
        {% else %}
        queued.newest_batch as landed_batch
        {% endif %}

    from queued
    {% if incremental %}
    cross join pass
    {% endif %}

)

select * from final

{#-
    The period close (`accfb close --date D`, and the settlement DAG's `close` task after each
    daily load). Closing a day copies its figures from rpt_daily_close into
    marts.rpt_closed_days as revision 0, once. Every close run then compares each closed day's
    live figures with the sum of its revisions and appends one dated adjustment row per day
    that moved, with the delta and the ledger events behind it (entries of that day landed
    after the previous revision). A row is never updated or deleted.

    rpt_closed_days is not a model: dbt never builds, drops or full-refreshes it, and it costs
    the minute's build nothing. The statuses (unreconciled, pending) are recorded at the close
    but not adjusted: they move every day as exports arrive, and are not money.
-#}

{% macro closed_days_relation() -%}
    {%- set daily = ref('rpt_daily_close') -%}
    {{ return(api.Relation.create(database=daily.database, schema=daily.schema, identifier='rpt_closed_days')) }}
{%- endmacro %}

{#- The figures an adjustment moves, in rpt_daily_close's columns. -#}
{% macro close_figures() -%}
    {{ return(['gift_count', 'refund_count', 'gross_amount_cents', 'refunded_amount_cents', 'fee_cents', 'net_amount_cents', 'settled_net_cents']) }}
{%- endmacro %}

{% macro closed_days_table() -%}
create table if not exists {{ closed_days_relation() }} (
    close_date date not null,
    revision integer not null,
    entry_kind varchar(16) not null,
    recorded_at timestamp not null,
    {% for figure in close_figures() -%}
    {{ figure }} bigint not null,
    {% endfor -%}
    unreconciled_count bigint,
    pending_count bigint,
    ledger_batch bigint,
    cause_count bigint,
    caused_by varchar(65535),
    invocation_id varchar(64)
)
{%- endmacro %}

{#- Close the day (when given and not closed yet), then record every closed day's adjustments. -#}
{% macro close_day(close_date=none) -%}
    {% do run_query(closed_days_table()) %}
    {% if close_date %}
        {% do run_query(close_day_sql(close_date)) %}
    {% endif %}
    {% do run_query(close_adjustments_sql()) %}
    {% do run_query('commit') if target.type == 'redshift' %}
{%- endmacro %}

{#- One row whatever rpt_daily_close holds (a day with no gifts closes at zero), inserted only if
    the day has none yet: the aggregate is filtered outside, as an aggregate always has a row. -#}
{% macro close_day_sql(close_date) -%}
{%- set day = "cast(" ~ sql_literal(close_date) ~ " as date)" -%}
insert into {{ closed_days_relation() }}
select * from (
    select
        {{ day }} as close_date,
        0 as revision,
        'close' as entry_kind,
        {{ dbt.current_timestamp() }} as recorded_at,
        {% for figure in close_figures() -%}
        coalesce(max(daily.{{ figure }}), 0) as {{ figure }},
        {% endfor -%}
        coalesce(max(daily.unreconciled_count), 0) as unreconciled_count,
        coalesce(max(daily.pending_count), 0) as pending_count,
        coalesce(max(daily.ledger_batch), 0) as ledger_batch,
        0 as cause_count,
        cast(null as varchar) as caused_by,
        {{ sql_literal(invocation_id) }} as invocation_id
    from {{ ref('rpt_daily_close') }} as daily
    where daily.close_date = {{ day }}
) as closing
where not exists (
    select 1 from {{ closed_days_relation() }} as closed
    where closed.close_date = {{ day }}
)
{%- endmacro %}

{% macro close_adjustments_sql() -%}
insert into {{ closed_days_relation() }}
with

recorded as (

    select
        close_date,
        max(revision) as revision,
        max(ledger_batch) as ledger_batch,
        {% for figure in close_figures() -%}
        sum({{ figure }}) as {{ figure }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ closed_days_relation() }}
    group by close_date

),

live as (

    select daily.*
    from {{ ref('rpt_daily_close') }} as daily
    inner join recorded
        on daily.close_date = recorded.close_date

),

moved as (

    select
        recorded.close_date,
        recorded.revision,
        recorded.ledger_batch as previous_ledger_batch,
        coalesce(live.ledger_batch, recorded.ledger_batch) as ledger_batch,
        {% for figure in close_figures() -%}
        coalesce(live.{{ figure }}, 0) - recorded.{{ figure }} as {{ figure }},
        {% endfor -%}
        live.unreconciled_count,
        live.pending_count
    from recorded
    left join live
        on recorded.close_date = live.close_date
    where {% for figure in close_figures() -%}
        coalesce(live.{{ figure }}, 0) <> recorded.{{ figure }}{{ " or " if not loop.last }}
        {%- endfor %}

),

-- The ledger entries of a moved day that landed after its previous revision, each named by
-- the event behind it (the gift's, or the refund's).
{%- set cause = dbt.concat(['ledger.entry_type', "':'", 'coalesce(refunds.event_id, donations.event_id)']) %}
cause_events as (

    select
        ledger.entry_date as close_date,
        {{ cause }} as cause,
        row_number() over (partition by ledger.entry_date order by {{ cause }}) as cause_rank
    from {{ ref('fct_donation_ledger') }} as ledger
    inner join moved
        on ledger.entry_date = moved.close_date
        and ledger.landed_batch > moved.previous_ledger_batch
    left join {{ ref('fct_donations') }} as donations
        on ledger.donation_id = donations.donation_id
    left join {{ ref('int_refunds_deduplicated') }} as refunds
        on ledger.refund_id = refunds.refund_id
    where ledger.entry_type <> 'fee'

),

causes as (

    select
        close_date,
        count(*) as cause_count,
        {{ close_causes_list('cause', 'cause_rank') }} as caused_by
    from cause_events
    group by close_date

),

final as (

    select
        moved.close_date,
        moved.revision + 1 as revision,
        'adjustment' as entry_kind,
        {{ dbt.current_timestamp() }} as recorded_at,
        {% for figure in close_figures() -%}
        moved.{{ figure }},
        {% endfor -%}
        moved.unreconciled_count,
        moved.pending_count,
        moved.ledger_batch,
        coalesce(causes.cause_count, 0) as cause_count,
        causes.caused_by,
        {{ sql_literal(invocation_id) }} as invocation_id
    from moved
    left join causes
        on moved.close_date = causes.close_date

)

select * from final
{%- endmacro %}

{#- The causes of an adjustment, in order. Redshift's LISTAGG fails once its result passes
    65,535 bytes (about 1,400 causes: a replay of a closed day reaches it), so there it lists
    the first 1,000, each cut to 64 bytes (an event_id is a UUID); cause_count counts them all.
    DuckDB lists every one. -#}
{% macro close_causes_list(cause, rank) -%}
    {{ return(adapter.dispatch('close_causes_list', 'accfb')(cause, rank)) }}
{%- endmacro %}

{% macro default__close_causes_list(cause, rank) -%}
    {{ dbt.listagg(cause, "','", "order by " ~ cause) }}
{%- endmacro %}

{% macro redshift__close_causes_list(cause, rank) -%}
    listagg(case when {{ rank }} <= 1000 then cast({{ cause }} as varchar(64)) end, ',')
        within group (order by {{ cause }})
{%- endmacro %}

{#-
    The period close (`accfb close --date D`, and the settlement DAG's `close` task after each
    daily load). Closing a day copies its figures from rpt_daily_close into
    marts.rpt_closed_days as revision 0, once. Every close run then compares each closed day's
    live figures with the sum of its revisions and appends one dated adjustment row per day
    that moved, with the delta and what caused it (listed above close_adjustments_sql): never an adjustment
    without a cause. A row is never updated or deleted. Each revision records the newest
    stream batch (`ledger_batch`) and settlement load (`settlement_load_seq`) its figures
    include, so the next adjustment names what arrived after them.

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
    invocation_id varchar(64),
    settlement_load_seq bigint
)
{%- endmacro %}

{#- A table made before revisions recorded their settlement load gets the column (last, as the
    inserts are positional); its older revisions keep a null, read as "before any load". -#}
{% macro closed_days_upgrade() -%}
    {% do adapter.dispatch('closed_days_upgrade', 'accfb')() %}
{%- endmacro %}

{% macro default__closed_days_upgrade() -%}
    {%- set columns = adapter.get_columns_in_relation(closed_days_relation()) | map(attribute='name') | map('lower') | list -%}
    {%- if 'settlement_load_seq' not in columns -%}
        {% do run_query('alter table ' ~ closed_days_relation() ~ ' add column settlement_load_seq bigint') %}
    {%- endif -%}
{%- endmacro %}

{#- DuckDB says it in one statement (and its column lookup would open a transaction that the
    run-operation then rolls back). -#}
{% macro duckdb__closed_days_upgrade() -%}
    {% do run_query('alter table ' ~ closed_days_relation() ~ ' add column if not exists settlement_load_seq bigint') %}
{%- endmacro %}

{#- The newest settlement load the built figures include: the staging model's cursor. -#}
{% macro settlement_load_seq_sql() -%}
(select coalesce(max(latest_load_seq), 0) as settlement_load_seq from {{ ref('stg_processor__settlements') }})
{%- endmacro %}

{#- Close the day (when given and not closed yet), then record every closed day's adjustments. -#}
{% macro close_day(close_date=none) -%}
    {% do run_query(closed_days_table()) %}
    {% do closed_days_upgrade() %}
    {#- The adjustments read the export ledger, which a warehouse no file was loaded into lacks. -#}
    {% do run_query(batch_export_ledger_table()) %}
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
select closing.*, loads.settlement_load_seq from (
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
cross join {{ settlement_load_seq_sql() }} as loads
where not exists (
    select 1 from {{ closed_days_relation() }} as closed
    where closed.close_date = {{ day }}
)
{%- endmacro %}

{#- What moved a closed day since its previous revision, one name per cause:
    - `gift:<event_id>` / `refund:<event_id>`: a ledger entry of the day that landed after the
      previous revision (a late gift or refund, a re-send that changed a gift);
    - `settlement:<export key>#<row>`: a settlement leg settled on the day, from an export
      version loaded after the previous revision (a late export, or a corrected one's row);
    - `settlement:<export key>@<load_seq>`: when the day's settled figure moved, a corrected
      export (the same key, other content) loaded since, which may have withdrawn or moved a
      leg whose row is in no table any more; or, when no row of the day names the move, every
      settlement export loaded since;
    - `batches:<first>-<last>`: the stream batches landed since, when the ledger figures moved
      and no entry of the day names it (a gift that a re-send moved to another day).
-#}
{% macro close_adjustments_sql() -%}
{%- set ledger_figures = ['gift_count', 'refund_count', 'gross_amount_cents', 'refunded_amount_cents', 'fee_cents', 'net_amount_cents'] -%}
insert into {{ closed_days_relation() }}
with

recorded as (

    select
        close_date,
        max(revision) as revision,
        max(ledger_batch) as ledger_batch,
        coalesce(max(settlement_load_seq), 0) as settlement_load_seq,
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

loads as {{ settlement_load_seq_sql() }},

newest as (

    select coalesce(max(landed_batch), 0) as landed_batch from {{ ref('fct_donation_ledger') }}

),

moved as (

    select
        recorded.close_date,
        recorded.revision,
        recorded.ledger_batch as previous_ledger_batch,
        recorded.settlement_load_seq as previous_settlement_load_seq,
        -- Never back: a gift that left the day leaves it with older entries only.
        greatest(coalesce(live.ledger_batch, 0), coalesce(recorded.ledger_batch, 0)) as ledger_batch,
        newest.landed_batch as newest_ledger_batch,
        greatest(loads.settlement_load_seq, recorded.settlement_load_seq) as settlement_load_seq,
        {% for figure in close_figures() -%}
        coalesce(live.{{ figure }}, 0) - recorded.{{ figure }} as {{ figure }},
        {% endfor -%}
        live.unreconciled_count,
        live.pending_count
    from recorded
    cross join loads
    cross join newest
    left join live
        on recorded.close_date = live.close_date
    where {% for figure in close_figures() -%}
        coalesce(live.{{ figure }}, 0) <> recorded.{{ figure }}{{ " or " if not loop.last }}
        {%- endfor %}

),

-- The ledger entries of a moved day that landed after its previous revision, each named by
-- the event behind it (the gift's, or the refund's).
entry_causes as (

    select
        ledger.entry_date as close_date,
        {{ dbt.concat(['ledger.entry_type', "':'", 'coalesce(refunds.event_id, donations.event_id)']) }} as cause
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

-- The settlement legs settled on a moved day from an export version loaded since.
settlement_row_causes as (

    select
        cast(settlements.settled_at as date) as close_date,
        {{ dbt.concat(["'settlement:'", 'settlements.source_key', "'#'", dbt.cast('settlements.source_row_number', 'varchar(20)')]) }} as cause
    from {{ ref('stg_processor__settlements') }} as settlements
    inner join moved
        on cast(settlements.settled_at as date) = moved.close_date
        and settlements.load_seq > moved.previous_settlement_load_seq
    where not settlements.is_withdrawn

),

-- Settlement export versions loaded since, for a day whose settled figure moved: a corrected
-- one always (it may have withdrawn or moved a leg of the day, whose row is in no table any
-- more); any other only when no row of the day names the move (a later export under a new key
-- that moved a leg away).
export_versions as (

    select
        moved.close_date,
        exports.outcome,
        {{ dbt.concat(["'settlement:'", 'exports.source_key', "'@'", dbt.cast('exports.load_seq', 'varchar(20)')]) }} as cause
    from lander.batch_export_ledger as exports
    inner join moved
        on exports.load_seq > moved.previous_settlement_load_seq
        and exports.load_seq <= moved.settlement_load_seq
    where exports.landing_table = 'lander.processor_settlements'
        and moved.settled_net_cents <> 0

),

correction_causes as (

    select close_date, cause from export_versions
    where outcome = 'corrected'
        or not exists (
            select 1 from settlement_row_causes
            where settlement_row_causes.close_date = export_versions.close_date
        )

),

named_causes as (

    select close_date, cause from entry_causes
    union
    select close_date, cause from settlement_row_causes
    union
    select close_date, cause from correction_causes

),

-- A ledger figure moved, and no entry of the day names why: the stream batches since.
batch_causes as (

    select
        moved.close_date,
        {{ dbt.concat([
            "'batches:'", dbt.cast('moved.previous_ledger_batch + 1', 'varchar(20)'),
            "'-'", dbt.cast('moved.newest_ledger_batch', 'varchar(20)'),
        ]) }} as cause
    from moved
    where ({% for figure in ledger_figures -%}
        moved.{{ figure }} <> 0{{ " or " if not loop.last }}
        {%- endfor %})
        and not exists (
            select 1 from entry_causes
            where entry_causes.close_date = moved.close_date
        )

),

all_causes as (

    select close_date, cause from named_causes
    union all
    select close_date, cause from batch_causes

),

ranked_causes as (

    select
        close_date,
        cause,
        row_number() over (partition by close_date order by cause) as cause_rank
    from all_causes

),

causes as (

    select
        close_date,
        count(*) as cause_count,
        {{ close_causes_list('cause', 'cause_rank') }} as caused_by
    from ranked_causes
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
        {{ sql_literal(invocation_id) }} as invocation_id,
        moved.settlement_load_seq
    from moved
    left join causes
        on moved.close_date = causes.close_date

)

select * from final
{%- endmacro %}

{#- The causes of an adjustment, in order. Redshift's LISTAGG fails once its result passes
    65,535 bytes (a replay of a closed day reaches it), so there it lists the first 200, each
    cut to 300 bytes (a settlement cause holds its export's key); cause_count counts them all.
    DuckDB lists every one. -#}
{% macro close_causes_list(cause, rank) -%}
    {{ return(adapter.dispatch('close_causes_list', 'accfb')(cause, rank)) }}
{%- endmacro %}

{% macro default__close_causes_list(cause, rank) -%}
    {{ dbt.listagg(cause, "','", "order by " ~ cause) }}
{%- endmacro %}

{% macro redshift__close_causes_list(cause, rank) -%}
    listagg(case when {{ rank }} <= 200 then cast({{ cause }} as varchar(300)) end, ',')
        within group (order by {{ cause }})
{%- endmacro %}

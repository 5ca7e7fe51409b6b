{#-
    The cursor every stream-fed incremental model reads from: `landed_batch`, the batch number
    landing/landed_records gives each pass it appends (its header says why a batch number never
    commits below one already visible). A model that has processed batch N reads only
    `landed_batch > N`: exactly the batches it has not processed, whatever their timestamps.

    The value is fetched when the model runs and written into its SQL as a literal, so DuckDB's
    zone maps and Redshift's sort key on `landed_batch` prune: a scalar subquery in the filter
    prunes neither. It is the model's own newest batch, committed with its rows, so a rerun after
    a failure reads the same batches again, and a pass that committed never reads them twice.
-#}
{% macro batch_cursor(column='landed_batch', relation=none) -%}
    {%- set relation = relation if relation is not none else this -%}
    {%- if offline_compile() -%}
        {{ return(var('offline_batch_cursor', 0) | int) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set result = run_query('select coalesce(max(' ~ column ~ '), 0) from ' ~ relation) -%}
    {{ return(result.columns[0].values()[0] | int) }}
{%- endmacro %}

{#- One row fetched at run time (e.g. a batch's bounds), as a list; all nulls when compiling
    offline or before execution. -#}
{% macro run_time_row(sql, width=2) -%}
    {%- if not execute or offline_compile() -%}
        {{ return([none] * width) }}
    {%- endif -%}
    {{ return(run_query(sql).rows[0] | list) }}
{%- endmacro %}

{#- Compiling for Redshift with none reachable (macros/is_incremental.sql): cursors come from the
    `offline_batch_cursor` var instead of the warehouse. -#}
{% macro offline_compile() -%}
    {{ return(var('offline_is_incremental', none) is not none) }}
{%- endmacro %}

{#-
    Models whose rows are rare (conflicts, quarantines) cannot take their cursor from their own
    newest row: with no conflict for a month, `max(landed_batch)` of the model would stay a
    month old and every refresh would re-read the month. They keep the batch they have
    processed through in lander.processed_batches instead, written in the model's own
    transaction (its post-hooks), so a pass that failed records nothing and is read again.
    What is recorded is the newest batch of the model's input as the pass read it: right for any
    selection of models, since the input holds no batch it has not itself processed.
-#}
{% macro processed_batches_table() -%}
create table if not exists lander.processed_batches (
    model varchar(256) not null,
    landed_batch bigint not null
)
{%- endmacro %}

{#- What delete_insert_by_hash rewrote: per pass of a model (`pass_batch`, the newest batch it
    wrote), each batch it deleted rows from; a null when it deleted by key over every batch. -#}
{% macro rewritten_batches_table() -%}
create table if not exists lander.rewritten_batches (
    model varchar(256) not null,
    pass_batch bigint not null,
    landed_batch bigint
)
{%- endmacro %}

{#- A post-hook of the models delete_insert_by_hash writes. Rebuilt whole (a full refresh of the
    model alone), their rows may sit in other batches than the parts summed from them hold: the
    rebuild is recorded as a rewrite of any batch (a null) under a pass past its newest batch,
    so the parts' next pass re-sums every batch (they re-sum every batch until a newer batch
    lands, which a live stream brings within the minute). -#}
{% macro record_full_rebuild() -%}
    {%- if should_full_refresh() -%}
insert into lander.rewritten_batches (model, pass_batch, landed_batch)
select {{ sql_literal(this.identifier) }}, coalesce(max(landed_batch), 0) + 1, cast(null as bigint)
from {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Whether `model` was rebuilt whole (record_full_rebuild) after batch `cursor`, fetched at run
    time: a model that reads it past a cursor then reads it as from nothing, since the rebuild
    rewrote rows without moving them past any cursor. False when compiling offline. -#}
{% macro rebuilt_since(model, cursor) -%}
    {%- if not execute or offline_compile() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query(
        "select count(*) from lander.rewritten_batches where model = " ~ sql_literal(model)
        ~ " and landed_batch is null and pass_batch > " ~ cursor
    ) -%}
    {{ return(result.columns[0].values()[0] | int > 0) }}
{%- endmacro %}

{#- The batches of `model` that its passes past `cursor` deleted rows from, fetched at run time:
    a sorted list, or none for any batch (a pass deleted by key over the whole table, or
    compiling offline). -#}
{% macro rewritten_batches(model, cursor) -%}
    {%- if not execute or offline_compile() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query(
        "select distinct landed_batch from lander.rewritten_batches where model = " ~ sql_literal(model)
        ~ " and pass_batch > " ~ cursor
    ) -%}
    {%- set batches = result.columns[0].values() | list -%}
    {{ return(none if none in batches else batches | map('int') | sort) }}
{%- endmacro %}

{#- A model with two inputs keeps a mark for each: the second under its own `mark` name. A model
    built before it kept its mark reads from its own newest batch, as batch_cursor does; one with
    no `landed_batch` of its own passes `unmarked=0`, and its first pass reads everything. -#}
{% macro processed_batch_cursor(mark=none, unmarked=none) -%}
    {%- if offline_compile() -%}
        {{ return(var('offline_batch_cursor', 0) | int) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set result = run_query(
        "select max(landed_batch) from lander.processed_batches where model = " ~ sql_literal(processed_mark(mark))
    ) -%}
    {%- set processed = result.columns[0].values()[0] -%}
    {%- if processed is not none -%}
        {{ return(processed | int) }}
    {%- endif -%}
    {{ return(unmarked if unmarked is not none else batch_cursor()) }}
{%- endmacro %}

{#- The name a model's mark is kept under: its own, or `mark`; under `accfb smoke`'s scratch
    schemas prefixed with them, so a scratch build never moves a real model's mark. -#}
{% macro processed_mark(mark=none) -%}
    {%- set scratch = var('scratch_schema', none) -%}
    {{ return((scratch ~ ':' if scratch else '') ~ (mark or this.identifier)) }}
{%- endmacro %}

{#- The model's post-hooks, in this order: `input` is the relation its cursor filters, `column`
    the batch column of `input` the cursor compares (a parts model's is `computed_batch`). -#}
{% macro forget_processed_batches(mark=none) -%}
    delete from lander.processed_batches where model = {{ sql_literal(processed_mark(mark)) }}
{%- endmacro %}

{% macro record_processed_batches(input, mark=none, column='landed_batch') -%}
    insert into lander.processed_batches
    select {{ sql_literal(processed_mark(mark)) }}, coalesce(max({{ column }}), 0) from {{ input }}
{%- endmacro %}

{#- The emitted_at range of the valid records past `cursor`, and the filter that probes a table
    of events within it: a redelivery is the same event, so it carries the same emitted_at
    (stg_stream__events and conflicting_redeliveries probe the same way). -#}
{% macro new_records_emitted_range(cursor) -%}
    {{ return(run_time_row(
        "select min(emitted_at), max(emitted_at) from " ~ ref('stg_stream__records')
        ~ " where is_valid and landed_batch > " ~ cursor
    )) }}
{%- endmacro %}

{#- The bounds are literals of the column's own type (TIMESTAMP, UTC, on both warehouses): a
    timestamptz literal made DuckDB cast the column, and a cast column prunes nothing. -#}
{% macro emitted_within(emitted) -%}
    where {{ emitted_condition(emitted) }}
{%- endmacro %}

{% macro emitted_condition(emitted) -%}
    {%- if emitted[0] is none -%}
    false
    {%- else -%}
    emitted_at >= cast('{{ emitted[0].isoformat() }}' as timestamp)
        and emitted_at <= cast('{{ emitted[1].isoformat() }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#-
    The poller (ingestion/edge/poller.py) stamps emitted_at when it polls, and re-reads a page
    whose cursor it did not advance (its last page, every poll until the source moves on): a
    re-polled item is the same event_id under a later emitted_at, which the emitted_at probe
    misses. The events of the polled sources (var `polled_sources`) are probed by their
    `event_id_hash` too, within the batches holding them (batches_holding): exact whatever the
    re-poll's delay, and nothing at all is read for a batch with no polled event.
    `staged_events_within(relation, columns, emitted, polled)`: the staged events a batch's
    records may repeat; `polled` is `polled_event_batches(relation, cursor)`.
-#}
{% macro new_polled_event_hashes(cursor) -%}
    {%- set sources = [] -%}
    {%- for source in var('polled_sources') -%}
        {%- do sources.append(sql_literal(source)) -%}
    {%- endfor -%}
select {{ key_hash('event_id') }} from {{ ref('stg_stream__records') }}
where is_valid and landed_batch > {{ cursor }} and source in ({{ sources | join(', ') }})
{%- endmacro %}

{% macro polled_event_batches(relation, cursor) -%}
    {%- set polled = run_time_row("select count(*) from (" ~ new_polled_event_hashes(cursor) ~ ") as polled", 1)[0] -%}
    {%- if execute and not offline_compile() and polled == 0 -%}
        {{ return({'cursor': cursor, 'batches': []}) }}
    {%- endif -%}
    {{ return({'cursor': cursor, 'batches': batches_holding(relation, 'event_id_hash', new_polled_event_hashes(cursor))}) }}
{%- endmacro %}

{#- Two selects, not one `or`: a disjunction of the emitted_at range and the polled hashes made
    DuckDB scan the whole table (conflicting_redeliveries: 0.95 s at 1M events of history, 7.3 s
    at 10M), where each select alone prunes by its own zone maps. The second leaves out what the
    first holds, so no event is read twice. -#}
{% macro staged_events_within(relation, columns, emitted, polled) -%}
    select {{ columns }} from {{ relation }}
    where {{ emitted_condition(emitted) }}
    {%- if polled.batches is none or polled.batches | length > 0 %}
    union all
    select {{ columns }} from {{ relation }}
    where {{ within_batches(polled.batches) }}
        and event_id_hash in ({{ new_polled_event_hashes(polled.cursor) }})
        and not coalesce({{ emitted_condition(emitted) }}, false)
    {%- endif %}
{%- endmacro %}

{#- The first and last day of a model's touched keys (`touched`: a query with a `day_column`),
    fetched at run time, and the filter that reads the model's input within those days: a
    literal range the warehouse prunes; nothing when no key was touched. -#}
{% macro touched_days(touched, day_column) -%}
    {{ return(run_time_row(
        "select min(" ~ day_column ~ "), max(" ~ day_column ~ ") from (" ~ touched ~ ") as touched"
    )) }}
{%- endmacro %}

{% macro within_days(column, days) -%}
    {%- if days[0] is none -%}
    where false
    {%- else -%}
    where {{ column }} >= cast('{{ days[0] }}' as timestamp)
        and {{ column }} < cast('{{ days[1] }}' as timestamp) + interval '1 day'
    {%- endif -%}
{%- endmacro %}

{#-
    The batches of `relation` holding any of `keys` (a query of one column), fetched at run time:
    the first step of a probe of a large keyed table for the keys a pass touched. A probe that
    reads every column of the table to find a few thousand keys cost more than the rest of its
    model (6M gifts: 0.8 s of a 1.3 s model); reading the key column alone costs a fifth. The
    second step reads the rows `within_batches` of these: a literal list that DuckDB's zone maps
    and Redshift's sort key on `landed_batch` prune by. Exact: a key's rows are in the batches
    found, whatever their age. Keys spread over more than `probe_batch_limit` batches: no
    bound (`none`), the plain probe.
-#}
{% macro batches_holding(relation, key_column, keys) -%}
    {%- if not execute or offline_compile() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set most = var('probe_batch_limit') | int -%}
    {%- set result = run_query(
        "select distinct landed_batch from " ~ relation ~ " where " ~ key_column
        ~ " in (" ~ keys ~ ") limit " ~ (most + 1)
    ) -%}
    {%- set batches = result.columns[0].values() | map('int') | list -%}
    {{ return(none if batches | length > most else batches | sort) }}
{%- endmacro %}

{% macro within_batches(batches, column='landed_batch') -%}
    {%- if batches is none -%}
    true
    {%- elif batches | length == 0 -%}
    false
    {%- else -%}
    {{ column }} in ({{ batches | join(', ') }})
    {%- endif -%}
{%- endmacro %}

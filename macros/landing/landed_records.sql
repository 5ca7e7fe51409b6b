{#- What landing/landed_records needs to know before it reads, as literals (its header says why):
    the newest streamed copy and the highest replay load it holds, and the arrival-time range of
    the records past those, which bounds the probe for positions already landed. An arrival read
    from the archive can differ from the stream's in its last digits, so the range is a minute
    wider on each side. -#}
{% macro landed_records_cursors() -%}
    {%- set epoch = "cast('1970-01-01 00:00:00+00' as " ~ landing_timestamp_type() ~ ")" -%}
    {%- if not execute or offline_compile() -%}
        {{ return({
            'stream_after': epoch,
            'backfill_after': 0,
            'arrival_from': epoch,
            'arrival_to': epoch,
            'next_batch': '(select coalesce(max(landed_batch), 0) + 1 from ' ~ this ~ ')',
        }) }}
    {%- endif -%}
    {%- set held = run_query(
        "select max(case when landed_by = 'stream' then refresh_time end), "
        ~ "coalesce(max(load_seq), 0) from " ~ this
    ).rows[0] -%}
    {%- set stream_after = timestamp_literal(held[0]) if held[0] is not none else epoch -%}
    {%- set backfill_after = held[1] | int -%}
    {%- set arrivals = run_query(
        "select min(approximate_arrival_timestamp), max(approximate_arrival_timestamp) from ("
        ~ " select approximate_arrival_timestamp from " ~ ref('stream_events')
        ~ " where refresh_time > " ~ stream_after
        ~ " union all"
        ~ " select approximate_arrival_timestamp from " ~ source('lander', 'backfill_records')
        ~ " where load_seq > " ~ backfill_after
        ~ ") as new_records"
    ).rows[0] -%}
    {%- if arrivals[0] is none -%}
        {%- set arrival_from, arrival_to = epoch, epoch -%}
    {%- else -%}
        {%- set arrival_from = timestamp_literal(arrivals[0]) ~ " - interval '1 minute'" -%}
        {%- set arrival_to = timestamp_literal(arrivals[1]) ~ " + interval '1 minute'" -%}
    {%- endif -%}
    {{ return({
        'stream_after': stream_after,
        'backfill_after': backfill_after,
        'arrival_from': arrival_from,
        'arrival_to': arrival_to,
        'next_batch': '(select coalesce(max(landed_batch), 0) + 1 from ' ~ this ~ ')',
    }) }}
{%- endmacro %}

{#- A timestamp fetched from the warehouse, written back as a literal to the microsecond. -#}
{% macro timestamp_literal(value) -%}
    {{ return("cast('" ~ value.isoformat() ~ "' as " ~ landing_timestamp_type() ~ ")") }}
{%- endmacro %}

{#- The landing's timestamps: with time zone locally (the lander writes timestamptz), without on
    Redshift (the streaming view's columns are TIMESTAMP, UTC). -#}
{% macro landing_timestamp_type() -%}
    {{ return(adapter.dispatch('landing_timestamp_type', 'accfb')()) }}
{%- endmacro %}

{% macro default__landing_timestamp_type() -%}
    {{ return('timestamptz') }}
{%- endmacro %}

{% macro redshift__landing_timestamp_type() -%}
    {{ return('timestamp') }}
{%- endmacro %}

{#- Redshift: the pass holds the table from here to its commit, so the batch number it takes
    (the highest committed + 1) commits in order. DuckDB needs none: one process writes the file
    at a time. -#}
{% macro hold_landed_records() -%}
    {{ return(adapter.dispatch('hold_landed_records', 'accfb')()) }}
{%- endmacro %}

{% macro default__hold_landed_records() -%}
    {{ return('') }}
{%- endmacro %}

{% macro redshift__hold_landed_records() -%}
    {%- if is_incremental() -%}
lock {{ this }}
    {%- endif -%}
{%- endmacro %}

{#- Warehouses whose backfill landing predates numbered loads. -#}
{% macro upgrade_backfill_landing_columns() -%}
    {{ return(adapter.dispatch('upgrade_backfill_landing_columns', 'accfb')()) }}
{%- endmacro %}

{% macro default__upgrade_backfill_landing_columns() -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__upgrade_backfill_landing_columns() -%}
alter table lander.backfill_records add column if not exists load_seq bigint
{%- endmacro %}

{#-
    The streaming landing: every record on the Kinesis stream, untouched, with its stream
    metadata, as source `lander.kinesis_records`. Locally the lander (ingestion/landing/lander.py) fills
    a table of that name. On Redshift it is a streaming materialized view over an external schema
    on the stream, created here by `dbt run-operation refresh_stream_landing` and never by a
    model: no dbt command, `--full-refresh` included, drops or recreates it. Recreating it (a
    schema change forces one) re-reads only the 7 days Kinesis keeps; history is safe anyway,
    because landing/landed_records copies every record into a table dbt never rebuilds.

    The view holds only the raw record, a guarded parse of it and the stream metadata (AWS's
    guidance for streaming views): a materialized view's columns cannot be altered, so keeping
    payload fields out of it means upstream schema changes never touch it.
-#}

{#- The columns staging reads from the landing, the same on both warehouses. -#}
{% macro stream_landing_select() -%}
    {{ return(adapter.dispatch('stream_landing_select', 'accfb')()) }}
{%- endmacro %}

{% macro default__stream_landing_select() -%}
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data
from {{ source('lander', 'kinesis_records') }}
{%- endmacro %}

{% macro redshift__stream_landing_select() -%}
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data,
    kinesis_data_bytes,
    record
from {{ source('lander', 'kinesis_records') }}
{%- endmacro %}

{#- A late-binding view on Redshift: the streaming view beneath it can be dropped and recreated
    without touching this one, and dropping this one never cascades to it. -#}
{% macro stream_landing_bind() -%}
    {{ return(adapter.dispatch('stream_landing_bind', 'accfb')()) }}
{%- endmacro %}

{% macro default__stream_landing_bind() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro redshift__stream_landing_bind() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro kinesis_external_schema() -%}
    kinesis_{{ target.name }}
{%- endmacro %}

{#- The streaming view's DDL. JSON_PARSE once into SUPER (not JSON_EXTRACT_PATH_TEXT per column,
    which re-parses and fails past 64 KB). CAN_JSON_PARSE guards it: a record that is not JSON
    keeps a null `record` and its bytes in kinesis_data, and is quarantined downstream instead of
    failing the refresh.
    Size: Kinesis carries up to 1 MiB, VARCHAR holds 65,535 bytes, the contract's limit
    (ingestion/contract/limits.py). A record within it is kept whole, as text and parsed. One over
    it is neither converted nor parsed (from_varbyte would have to cut it): its text is left
    empty, its real size kept in kinesis_data_bytes, and the contract quarantines it as
    `too_large` from that size. Its bytes stay in the raw archive, which keeps every record. -#}
{% macro stream_landing_view_sql() -%}
create materialized view lander.kinesis_records
backup no
auto refresh yes
as
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    case when octet_length(kinesis_data) <= {{ max_record_bytes() }}
        then from_varbyte(kinesis_data, 'utf-8') else '' end as kinesis_data,
    octet_length(kinesis_data) as kinesis_data_bytes,
    case when octet_length(kinesis_data) <= {{ max_record_bytes() }} and can_json_parse(kinesis_data)
        then json_parse(kinesis_data) end as record
from {{ kinesis_external_schema() }}."{{ var('kinesis_stream_name') }}"
{%- endmacro %}

{#- The contract's one record limit, from the JSON Schemas' generated checks. -#}
{% macro max_record_bytes() -%}
    {{ return(contract_checks().max_record_bytes) }}
{%- endmacro %}

{% macro kinesis_external_schema_sql() -%}
create external schema if not exists {{ kinesis_external_schema() }}
from kinesis
iam_role {{ sql_literal(var("kinesis_iam_role")) }}
{%- endmacro %}

{#- Run before each build (the refresh DAG's `land` task): creates the external schema and the
    streaming view when absent, then refreshes the view explicitly, because auto refresh yields
    to user workload and may be deferred, so the freshness goal cannot rest on it alone. -#}
{% macro refresh_stream_landing() -%}
    {{ return(adapter.dispatch('refresh_stream_landing', 'accfb')()) }}
{%- endmacro %}

{% macro default__refresh_stream_landing() -%}
    {{ return('') }}
{%- endmacro %}

{#- A view made before it kept kinesis_data_bytes (a view's columns cannot be altered) is
    dropped and made again: it re-reads the 7 days Kinesis keeps, and landed_records' probe by
    stream position drops what it already holds. The late-binding stream_events over it is not
    touched. The backfill landing gets the column in place. -#}
{% macro redshift__refresh_stream_landing() -%}
    {% do run_query(lander_schema()) %}
    {% do run_query(kinesis_external_schema_sql()) %}
    {% set view = adapter.get_relation(database=target.database, schema='lander', identifier='kinesis_records') %}
    {#- Only on a column list that was read: an empty one (a lookup that cannot see the view)
        must never recreate the view every minute. -#}
    {% set columns = adapter.get_columns_in_relation(view) | map(attribute='name') | map('lower') | list if view is not none else [] %}
    {% if columns and 'kinesis_data_bytes' not in columns %}
        {% do run_query('drop materialized view lander.kinesis_records') %}
        {% set view = none %}
    {% endif %}
    {% if view is none %}
        {% do run_query(stream_landing_view_sql()) %}
    {% endif %}
    {% do run_query(backfill_landing_table()) %}
    {% do redshift__upgrade_backfill_landing() %}
    {% do run_query('refresh materialized view lander.kinesis_records') %}
{%- endmacro %}

{#- Locally the lander creates its table on first landing (ingestion/landing/lander.py, same columns);
    created here too, so a warehouse that never streamed builds. On Redshift the streaming view
    is created by refresh_stream_landing, never by a build. -#}
{% macro stream_landing_table() -%}
    {{ return(adapter.dispatch('stream_landing_table', 'accfb')()) }}
{%- endmacro %}

{% macro default__stream_landing_table() -%}
select 1
{%- endmacro %}

{% macro duckdb__stream_landing_table() -%}
create table if not exists lander.kinesis_records (
    approximate_arrival_timestamp timestamptz not null,
    partition_key varchar not null,
    shard_id varchar not null,
    sequence_number varchar not null,
    refresh_time timestamptz not null,
    kinesis_data varchar not null
)
{%- endmacro %}

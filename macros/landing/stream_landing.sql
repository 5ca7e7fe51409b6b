{#-
    The streaming landing: every record on the Kinesis stream, untouched, with its stream
    metadata. On Redshift it is a streaming materialized view over an external schema on the
    stream; locally the lander (ingestion/landing/lander.py) fills lander.kinesis_records with the same
    columns and this model is a view over it.

    The view holds only the raw record and its metadata: a materialized view's columns cannot be
    altered, so keeping payload fields out of it means upstream schema changes never touch it.
-#}

{% macro stream_landing_materialization() -%}
    {{ return(adapter.dispatch('stream_landing_materialization', 'accfb')()) }}
{%- endmacro %}

{% macro default__stream_landing_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro redshift__stream_landing_materialization() -%}
    {{ return('materialized_view') }}
{%- endmacro %}

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

{#- JSON_PARSE once into SUPER (not JSON_EXTRACT_PATH_TEXT per column, which re-parses and fails
    past 64 KB). CAN_JSON_PARSE guards it: a record that is not JSON keeps a null `record` and
    its bytes in kinesis_data, and is quarantined downstream instead of failing the refresh. -#}
{% macro redshift__stream_landing_select() -%}
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    from_varbyte(kinesis_data, 'utf-8') as kinesis_data,
    case when can_json_parse(kinesis_data) then json_parse(kinesis_data) end as record
from {{ kinesis_external_schema() }}."{{ var('kinesis_stream_name') }}"
{%- endmacro %}

{% macro kinesis_external_schema() -%}
    kinesis_{{ target.name }}
{%- endmacro %}

{#- Runs before the streaming view on Redshift: the external schema that maps the stream. -#}
{% macro create_kinesis_external_schema() -%}
    {{ return(adapter.dispatch('create_kinesis_external_schema', 'accfb')()) }}
{%- endmacro %}

{% macro default__create_kinesis_external_schema() -%}
    {{ return('') }}
{%- endmacro %}

{% macro redshift__create_kinesis_external_schema() -%}
create external schema if not exists {{ kinesis_external_schema() }}
from kinesis
iam_role {{ sql_literal(var("kinesis_iam_role")) }}
{%- endmacro %}

{#- Refresh explicitly before each build: auto refresh yields to user workload and may be
    deferred, so the freshness goal cannot rest on it alone. -#}
{% macro refresh_stream_landing() -%}
    {{ return(adapter.dispatch('refresh_stream_landing', 'accfb')()) }}
{%- endmacro %}

{% macro default__refresh_stream_landing() -%}
    {{ return('') }}
{%- endmacro %}

{% macro redshift__refresh_stream_landing() -%}
    {% do run_query('refresh materialized view ' ~ ref('stream_events')) %}
{%- endmacro %}

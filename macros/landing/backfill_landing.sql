{#-
    The backfill landing: records replayed from the raw archive (`accfb replay`), with the same
    columns as the streaming landing, so staging reads both as one (models/landing/landed_records).
    The table is created before the model that reads it, so a stream-only warehouse builds too.
-#}

{% macro lander_schema() -%}
create schema if not exists lander
{%- endmacro %}

{% macro backfill_landing_table() -%}
    {{ return(adapter.dispatch('backfill_landing_table', 'accfb')()) }}
{%- endmacro %}

{#- `load_seq` is the load's number, one more than the highest committed, taken while the load
    holds the table (Redshift: LOCK; DuckDB: one writer to the file), so numbers commit in
    order: landing/landed_records reads `load_seq` past the highest it took and never misses a
    load that committed late, whatever its rows' refresh_time (a transaction's start).
    No primary key: the load itself adds only stream positions not landed yet, one row each
    (duckdb__load_archive_window), as on Redshift, whose keys are never enforced. The record's text
    is stored uncompressed: the table is about twice the size on disk (the archive keeps the gzip
    copy), and the load about twice as fast. Of the keyed load's 4.0 s for 200,000 records of
    2 KB, the index with insert-or-ignore took ~0.9 s and compressing the text (FSST) ~1.4 s
    (benchmarks/replay.py). -#}
{% macro duckdb__backfill_landing_table(name='lander.backfill_records') -%}
create table if not exists {{ name }} (
    approximate_arrival_timestamp timestamptz not null,
    partition_key varchar not null,
    shard_id varchar not null,
    sequence_number varchar not null,
    refresh_time timestamptz not null,
    kinesis_data varchar not null using compression uncompressed,
    archive_key varchar not null,
    load_seq bigint
)
{%- endmacro %}

{#- VARCHAR(65535) is Redshift's widest text: a record above 64 KB is cut by COPY (TRUNCATECOLUMNS)
    and quarantined as invalid JSON rather than failing the whole load. -#}
{% macro redshift__backfill_landing_table() -%}
create table if not exists lander.backfill_records (
    approximate_arrival_timestamp timestamptz not null,
    partition_key varchar(256) not null,
    shard_id varchar(128) not null,
    sequence_number varchar(128) not null,
    refresh_time timestamptz not null,
    kinesis_data varchar(65535) not null,
    archive_key varchar(1024) not null,
    load_seq bigint
)
diststyle even
sortkey (load_seq)
{%- endmacro %}

{% macro backfill_landing_select() -%}
    {{ return(adapter.dispatch('backfill_landing_select', 'accfb')()) }}
{%- endmacro %}

{% macro default__backfill_landing_select() -%}
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data,
    load_seq
from {{ source('lander', 'backfill_records') }}
{%- endmacro %}

{#- The same shape as the streaming view on Redshift: the record parsed once into SUPER. -#}
{% macro redshift__backfill_landing_select() -%}
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data,
    case when can_json_parse(kinesis_data) then json_parse(kinesis_data) end as record,
    load_seq
from {{ source('lander', 'backfill_records') }}
{%- endmacro %}

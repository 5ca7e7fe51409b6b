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

{#- VARCHAR(65535) is Redshift's widest text and the contract's record limit: a record within it
    is kept whole. One over it (a hand-made archive object, a producer outside this repository)
    keeps an empty text and its real size in kinesis_data_bytes, from which the contract
    quarantines it as `too_large`, as on the stream (macros/batch/load_from_s3.sql). -#}
{% macro redshift__backfill_landing_table() -%}
create table if not exists lander.backfill_records (
    approximate_arrival_timestamp timestamptz not null,
    partition_key varchar(256) not null,
    shard_id varchar(128) not null,
    sequence_number varchar(128) not null,
    refresh_time timestamptz not null,
    kinesis_data varchar(65535) not null,
    archive_key varchar(1024) not null,
    load_seq bigint,
    kinesis_data_bytes bigint
)
diststyle even
sortkey (load_seq)
{%- endmacro %}

{#- Tables made before kinesis_data_bytes: the column is added (Redshift has no ADD COLUMN IF
    NOT EXISTS, so it is looked up first). Rows loaded before it keep null, read as their
    text's size. -#}
{% macro redshift__upgrade_backfill_landing() -%}
    {% set table = adapter.get_relation(database=target.database, schema='lander', identifier='backfill_records') %}
    {% if table is not none and 'kinesis_data_bytes' not in adapter.get_columns_in_relation(table) | map(attribute='name') | map('lower') | list %}
        {% do run_query('alter table lander.backfill_records add column kinesis_data_bytes bigint') %}
    {% endif %}
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
    kinesis_data_bytes,
    case when can_json_parse(kinesis_data) then json_parse(kinesis_data) end as record,
    load_seq
from {{ source('lander', 'backfill_records') }}
{%- endmacro %}

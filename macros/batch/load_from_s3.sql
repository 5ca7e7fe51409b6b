{#-
    Batch loads from the raw bucket, one macro per load, run by `dbt run-operation` from
    ingestion/replay/loads.py and ingestion/batch/loads.py. Each takes a manifest (S3 JSON naming
    exactly the objects to load, as Redshift's COPY ... MANIFEST reads it) and is idempotent:
    rows already in the target are never inserted again.

    Redshift: COPY from S3 with the warehouse's IAM role into a temporary table, then one
    INSERT of the new rows. DuckDB (local): the httpfs extension reads the same objects from the
    local S3 endpoint; see duckdb_s3_access for why it is loaded the way it is.
-#}

{#- Replay: the archive objects of a window into lander.backfill_records. Only records that
    arrived in [window_start, window_end) and are not landed yet (by either path) are added. -#}
{% macro load_archive_window(manifest_url, window_start, window_end) -%}
    {% do run_query(lander_schema()) %}
    {% do run_query(backfill_landing_table()) %}
    {% do adapter.dispatch('upgrade_backfill_landing', 'accfb')() %}
    {% do adapter.dispatch('load_archive_window', 'accfb')(manifest_url, window_start, window_end) %}
{%- endmacro %}

{% macro redshift__load_archive_window(manifest_url, window_start, window_end) -%}
    {% do run_statements(redshift_archive_window_statements(manifest_url, window_start, window_end)) %}
{%- endmacro %}

{#- The statements, shown as one script (the tests parse it). -#}
{% macro redshift_archive_window_sql(manifest_url, window_start, window_end) -%}
    {{ redshift_archive_window_statements(manifest_url, window_start, window_end) | join(';\n') }}
{%- endmacro %}

{#- A list, one statement each: never text split on ';' (a key may hold one, inside its literal). -#}
{% macro redshift_archive_window_statements(manifest_url, window_start, window_end) -%}
{%- set create -%}
create temp table archive_batch (
    approximate_arrival_timestamp timestamptz,
    partition_key varchar(256),
    shard_id varchar(128),
    sequence_number varchar(128),
    kinesis_data varchar(65535),
    record_bytes bigint
)
{%- endset -%}
{#- The record's size is the archive line's record_bytes (ingestion/archive/format.py), since
    COPY's TRUNCATECOLUMNS cuts a longer text to 65,535 bytes to keep the load going. A record
    over the contract's limit lands with an empty text and its real size, and is quarantined as
    `too_large`; the cut text is never landed. A line written before record_bytes existed has
    only its (possibly cut) text: one that fills the column is taken as over the limit. -#}
{%- set size -%}
coalesce(record_bytes, case when octet_length(kinesis_data) >= {{ max_record_bytes() }} then {{ max_record_bytes() + 1 }} else octet_length(kinesis_data) end)
{%- endset -%}
{%- set insert -%}
insert into lander.backfill_records (
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data,
    kinesis_data_bytes,
    archive_key,
    load_seq
)
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    getdate() as refresh_time,
    case when {{ size }} > {{ max_record_bytes() }} then '' else kinesis_data end as kinesis_data,
    {{ size }} as kinesis_data_bytes,
    {{ sql_literal('manifest:' ~ manifest_url) }} as archive_key,
    (select coalesce(max(load_seq), 0) + 1 from lander.backfill_records) as load_seq
from (
    -- Firehose delivers at least once: a record written twice loads once.
    select
        archive_batch.*,
        row_number() over (
            partition by archive_batch.shard_id, archive_batch.sequence_number
            order by archive_batch.approximate_arrival_timestamp
        ) as delivery
    from archive_batch
    where archive_batch.approximate_arrival_timestamp >= {{ sql_literal(window_start) }}::timestamptz
        and archive_batch.approximate_arrival_timestamp < {{ sql_literal(window_end) }}::timestamptz
        and not exists (
            select 1 from lander.backfill_records as landed
            where landed.shard_id = archive_batch.shard_id
                and landed.sequence_number = archive_batch.sequence_number
        )
) as new_records
where delivery = 1
{%- endset -%}
{#- The lock is held from before the insert to the commit: the next load's number is taken
    only after this one commits. -#}
{{ return([
    create,
    copy_json_manifest('archive_batch', manifest_url),
    'lock lander.backfill_records',
    insert,
    'drop table archive_batch',
]) }}
{%- endmacro %}

{#- Two statements in one transaction: insert the window's records not landed yet, then delete
    the second copy of any record the batch held twice (an at-least-once writer can archive a
    record twice; the first object's copy is kept). Deduplicating after the insert keeps the insert
    streaming, in parallel, straight from the objects to the table; a window or DISTINCT in the
    insert would hold the whole batch in memory first. The anti-join with the landed records is
    left out when none of them arrived in the window (a first replay): a join in the insert makes
    it ~20% slower even against nothing. A record's arrival time is part of the record, so one
    already landed from this window has its arrival in the window. -#}
{% macro duckdb__load_archive_window(manifest_url, window_start, window_end) -%}
    {% set urls = manifest_urls(manifest_url) %}
    {% if urls | length == 0 %}
        {{ return(none) }}
    {% endif %}
    {% set in_window -%}
approximate_arrival_timestamp >= {{ sql_literal(window_start) }}::timestamptz
        and approximate_arrival_timestamp < {{ sql_literal(window_end) }}::timestamptz
    {%- endset %}
    {#- Taken before the transaction: DuckDB lets one process write the file at a time, and
        loads run one at a time (the backfill DAG's max_active_runs=1), so no other load can
        commit a number between this read and the commit. -#}
    {% set next_load_seq = run_query(
        "select coalesce(max(load_seq), 0) + 1 from lander.backfill_records"
    ).columns[0].values()[0] %}
    {% set landed_in_window = run_query(
        "select count(*) from lander.backfill_records where " ~ in_window
    ).columns[0].values()[0] %}
    {% set load %}
begin transaction;

insert into lander.backfill_records
with

archived as (

    select
        approximate_arrival_timestamp,
        partition_key,
        shard_id,
        sequence_number,
        kinesis_data,
        filename as archive_key
    from read_json(
        [{% for url in urls %}{{ sql_literal(url) }}{{ ", " if not loop.last }}{% endfor %}],
        format = 'newline_delimited',
        compression = 'gzip',
        filename = true,
        columns = {
            approximate_arrival_timestamp: 'timestamptz',
            partition_key: 'varchar',
            shard_id: 'varchar',
            sequence_number: 'varchar',
            kinesis_data: 'varchar'
        }
    )
    where {{ in_window }}

),

{% if landed_in_window > 0 %}
landed as (

    select
        shard_id,
        sequence_number
    from lander.backfill_records
    where {{ in_window }}

),

new_records as (

    select archived.*
    from archived
    anti join landed
        on archived.shard_id = landed.shard_id
        and archived.sequence_number = landed.sequence_number

),
{% else %}
new_records as (

    select * from archived

),
{% endif %}

final as (

    select
        approximate_arrival_timestamp,
        partition_key,
        shard_id,
        sequence_number,
        now() as refresh_time,
        kinesis_data,
        archive_key,
        {{ next_load_seq }} as load_seq
    from new_records

)

select * from final;

delete from lander.backfill_records
where rowid in (
    select rowid
    from lander.backfill_records
    where {{ in_window }}
    qualify row_number() over (
        partition by shard_id, sequence_number
        order by archive_key, rowid
    ) > 1
);

commit
    {% endset %}
    {% do run_query(load) %}
{%- endmacro %}

{#- Warehouses created before the load deduplicated by itself have a primary key on the backfill
    landing; DuckDB cannot drop one, so the table is rebuilt once, in one transaction. -#}
{% macro default__upgrade_backfill_landing() -%}
{%- endmacro %}

{% macro duckdb__upgrade_backfill_landing() -%}
    {#- Rows loaded before loads were numbered keep a null load_seq: landed_records took them
        (or takes them on its first build) by their stream position. -#}
    {% set numbered = run_query(
        "select count(*) from information_schema.columns where table_schema = 'lander' "
        ~ "and table_name = 'backfill_records' and column_name = 'load_seq'"
    ).columns[0].values()[0] %}
    {% if numbered == 0 %}
        {% do run_query("alter table lander.backfill_records add column load_seq bigint") %}
        {#- A view bound to the old columns (a select *) no longer binds once the table has
            one more: recreate each view that reads the table from its own text. -#}
        {% set readers = run_query(
            "select sql from duckdb_views() where not internal "
            ~ "and sql ilike '%lander.backfill_records%'"
        ) %}
        {% for definition in readers.columns[0].values() %}
            {% do run_query(definition | replace('CREATE VIEW', 'CREATE OR REPLACE VIEW', 1)) %}
        {% endfor %}
    {% endif %}
    {% set keyed = run_query(
        "select count(*) from duckdb_constraints() where schema_name = 'lander' "
        ~ "and table_name = 'backfill_records' and constraint_type = 'PRIMARY KEY'"
    ) %}
    {% if keyed.columns[0].values()[0] == 0 %}
        {{ return(none) }}
    {% endif %}
    {% set upgrade %}
begin transaction;
{{ duckdb__backfill_landing_table('lander.backfill_records_upgrade') }};
insert into lander.backfill_records_upgrade
select
    approximate_arrival_timestamp,
    partition_key,
    shard_id,
    sequence_number,
    refresh_time,
    kinesis_data,
    archive_key,
    load_seq
from lander.backfill_records;
drop table lander.backfill_records;
alter table lander.backfill_records_upgrade rename to backfill_records;
commit
    {% endset %}
    {% do run_query(upgrade) %}
{%- endmacro %}

{#- One batch CSV export (CRM donors, processor settlements) into its lander table, once per
    version. An export is known by its key and its content (the object's ETag): the ledger
    (lander.batch_export_ledger, macros/batch/batch_landing.sql) is read before any COPY, and
    - a key whose latest version has this ETag is skipped ('unchanged': no COPY, nothing read);
    - a key never seen is loaded ('new');
    - a key loaded with another ETag is a corrected export ('corrected'): its rows replace the
      earlier version's in the landing table, with a new load_seq, in one transaction, so a
      model reading past its cursor sees the corrected rows and finance's totals never count
      both versions (the caller alerts: an export key is meant to be written once);
    - a key whose rows were loaded before the ledger existed is recorded as it stands
      ('adopted': no COPY), which is what the key-only guard it replaces did.
    The decision is made again under the tables' locks inside the load (a second load of the
    same version at once inserts nothing). Each outcome is logged on a line the caller reads
    (ingestion/batch/loads.py). The table's columns are in macros/batch/batch_landing.sql. -#}
{% macro load_csv_object(table, manifest_url, source_url, etag) -%}
    {% do run_query(lander_schema()) %}
    {% do run_query(batch_landing_table(table)) %}
    {% do run_query(batch_export_ledger_table()) %}
    {% set upgrade = batch_landing_upgrade(table) %}
    {% if upgrade %}
        {% do run_query(upgrade) %}
    {% endif %}
    {% set known = run_query(batch_export_known_sql(table, source_url)) %}
    {% set outcome = batch_export_outcome(known.rows[0][0], known.rows[0][1], etag) %}
    {% if outcome != 'unchanged' %}
        {% do adapter.dispatch('load_csv_object', 'accfb')(table, manifest_url, source_url, etag, outcome) %}
    {% endif %}
    {% set loaded = run_query(
        "select rows_loaded, load_seq from lander.batch_export_ledger where source_key = "
        ~ sql_literal(source_url) ~ " and etag = " ~ sql_literal(etag)
        ~ " order by load_seq desc limit 1"
    ) %}
    {% do log(batch_export_log_prefix() ~ tojson({
        'source_url': source_url,
        'outcome': outcome,
        'rows': loaded.rows[0][0] if loaded.rows else none,
        'load_seq': loaded.rows[0][1] if loaded.rows else none,
    }), info=True) %}
{%- endmacro %}

{#- What the caller looks for among dbt's log lines (ingestion/batch/loads.py). -#}
{% macro batch_export_log_prefix() -%}
    {{ return('accfb-batch-export ') }}
{%- endmacro %}

{#- The latest version the ledger knows of a key, and how many rows of the key are landed. -#}
{% macro batch_export_known_sql(table, source_url) -%}
select
    (
        select max(ledger.etag)
        from lander.batch_export_ledger as ledger
        where ledger.source_key = {{ sql_literal(source_url) }}
            and ledger.load_seq = (
                select max(latest.load_seq)
                from lander.batch_export_ledger as latest
                where latest.source_key = {{ sql_literal(source_url) }}
            )
    ) as known_etag,
    (
        select count(*)
        from {{ table }} as landed
        where landed.source_key = {{ sql_literal(source_url) }}
    ) as landed_rows
{%- endmacro %}

{% macro batch_export_outcome(known_etag, landed_rows, etag) -%}
    {% if known_etag is none %}
        {{ return('adopted' if landed_rows | int > 0 else 'new') }}
    {% endif %}
    {{ return('unchanged' if known_etag == etag else 'corrected') }}
{%- endmacro %}

{% macro redshift__load_csv_object(table, manifest_url, source_url, etag, outcome) -%}
    {% do run_statements(redshift_csv_object_statements(table, manifest_url, source_url, etag, outcome)) %}
{%- endmacro %}

{#- The statements, shown as one script (the tests parse it). -#}
{% macro redshift_csv_object_sql(table, manifest_url, source_url, etag, outcome) -%}
    {{ redshift_csv_object_statements(table, manifest_url, source_url, etag, outcome) | join(';\n') }}
{%- endmacro %}

{#- What runs for an outcome: nothing for an unchanged export (the COPY is never reached), the
    ledger row alone for an adopted one, else the COPY into a temporary table and, holding both
    tables, the version's number, the replacement of any earlier version's rows, the insert and
    the ledger row. -#}
{% macro redshift_csv_object_statements(table, manifest_url, source_url, etag, outcome) -%}
{%- if outcome == 'unchanged' -%}
    {{ return([]) }}
{%- endif -%}
{%- set columns = batch_landing_columns(table) -%}
{%- set locks = ['lock ' ~ table, 'lock lander.batch_export_ledger'] -%}
{%- if outcome == 'adopted' -%}
    {{ return(locks + [batch_export_adopt_sql(table, source_url, etag)]) }}
{%- endif -%}
{#- The manifest names the export's numbered copy (ingestion/batch/numbering.py): each record
    led by its file row, which COPY keeps no trace of and row_number() over () would not give
    (Redshift loads slices in parallel, in no defined order). -#}
{%- set create -%}
create temp table csv_batch (
    source_row_number bigint, {% for name, type in columns.items() %}{{ name }} {{ type }}{{ ", " if not loop.last }}{% endfor %}
)
{%- endset -%}
{%- set copy -%}
copy csv_batch (source_row_number, {{ columns.keys() | join(', ') }})
from {{ sql_literal(manifest_url) }}
iam_role {{ sql_literal(copy_iam_role()) }}
format as csv
ignoreheader 1
timeformat 'auto'
manifest
{%- endset -%}
{%- set insert -%}
insert into {{ table }}
select
    {% for name in columns %}csv_batch.{{ name }},
    {% endfor %}{{ sql_literal(source_url) }} as source_key,
    csv_batch.source_row_number,
    getdate() as loaded_at,
    csv_load.load_seq
from csv_batch
cross join csv_load
{%- endset -%}
{{ return([create, copy] + locks + [
    'create temp table csv_load as ' ~ batch_export_number_sql(table, source_url, etag),
    batch_export_replace_sql(table, source_url),
    insert,
    batch_export_ledger_insert_sql(table, source_url, etag, outcome, '(select count(*) from csv_batch)'),
    'drop table csv_batch',
    'drop table csv_load',
]) }}
{%- endmacro %}

{#- The version's number, taken while the load holds both tables: one more than the highest any
    load of the table took (the ledger remembers numbers whose rows a corrected version replaced),
    so numbers commit in order and a model that read up to load N never misses a later one. No
    row when this version is already in the ledger: then nothing below changes anything. -#}
{% macro batch_export_number_sql(table, source_url, etag) -%}
select greatest(landed.max_load_seq, ledgered.max_load_seq) + 1 as load_seq
from (
    select coalesce(max(load_seq), 0) as max_load_seq from {{ table }}
) as landed
cross join (
    select coalesce(max(load_seq), 0) as max_load_seq
    from lander.batch_export_ledger
    where landing_table = {{ sql_literal(table) }}
) as ledgered
where not exists (
    select 1 from lander.batch_export_ledger as known
    where known.source_key = {{ sql_literal(source_url) }}
        and known.etag = {{ sql_literal(etag) }}
)
{%- endmacro %}

{#- A corrected export replaces its key's earlier rows; the ledger keeps what they were. -#}
{% macro batch_export_replace_sql(table, source_url) -%}
delete from {{ table }}
where source_key = {{ sql_literal(source_url) }}
    and exists (select 1 from csv_load)
{%- endmacro %}

{% macro batch_export_ledger_insert_sql(table, source_url, etag, outcome, rows) -%}
insert into lander.batch_export_ledger
select
    {{ sql_literal(table) }} as landing_table,
    {{ sql_literal(source_url) }} as source_key,
    {{ sql_literal(etag) }} as etag,
    {{ rows }} as rows_loaded,
    csv_load.load_seq,
    {{ dbt.current_timestamp() }} as loaded_at,
    {{ sql_literal(outcome) }} as outcome
from csv_load
{%- endmacro %}

{#- A key loaded before the ledger: its rows and number as they stand, once. -#}
{% macro batch_export_adopt_sql(table, source_url, etag) -%}
insert into lander.batch_export_ledger
select
    {{ sql_literal(table) }} as landing_table,
    {{ sql_literal(source_url) }} as source_key,
    {{ sql_literal(etag) }} as etag,
    count(*) as rows_loaded,
    coalesce(max(load_seq), 0) as load_seq,
    {{ dbt.current_timestamp() }} as loaded_at,
    'adopted' as outcome
from {{ table }}
where source_key = {{ sql_literal(source_url) }}
    and not exists (
        select 1 from lander.batch_export_ledger as known
        where known.source_key = {{ sql_literal(source_url) }}
    )
{%- endmacro %}

{% macro copy_iam_role() -%}
    {{ return(var("s3_copy_iam_role", env_var("ACCFB_REDSHIFT_COPY_ROLE_ARN", "arn:aws:iam::000000000000:role/accfb-redshift-copy"))) }}
{%- endmacro %}

{% macro duckdb__load_csv_object(table, manifest_url, source_url, etag, outcome) -%}
    {% if outcome == 'adopted' %}
        {% do run_query(batch_export_adopt_sql(table, source_url, etag)) %}
        {{ return(none) }}
    {% endif %}
    {% set columns = batch_landing_columns(table) %}
    {% set urls = manifest_urls(manifest_url) %}
    {#- The columns are read by position: a file whose header differs (reordered, renamed,
        missing) would load values into the wrong columns, so it is refused whole. -#}
    {% for url in urls %}
        {% set header = run_query(
            "select * from read_csv(" ~ sql_literal(url) ~ ", header = false, all_varchar = true) limit 1"
        ) %}
        {% set found = header.rows[0].values() | map('string') | map('trim') | map('lower') | list if header.rows else [] %}
        {% if found != columns.keys() | list %}
            {{ exceptions.raise_compiler_error(
                url ~ " was not loaded: its header is [" ~ found | join(", ") ~ "], the export's "
                ~ "columns are [" ~ columns.keys() | join(", ") ~ "] in this order"
            ) }}
        {% endif %}
    {% endfor %}
    {#- Read and cast first, outside the transaction: a value that does not cast refuses the
        file before anything is written, as Redshift's COPY into its temporary table does. -#}
    {% set stage %}
create or replace temp table csv_batch as
select
    {% for name in columns %}exported.{{ name }},
    {% endfor %}row_number() over () as source_row_number
from read_csv(
    [{% for url in urls %}{{ sql_literal(url) }}{{ ", " if not loop.last }}{% endfor %}],
    header = true,
    columns = { {% for name, type in columns.items() %}{{ sql_literal(name) }}: {{ sql_literal(type) }}{{ ", " if not loop.last }}{% endfor %} }
) as exported
    {% endset %}
    {% do run_query(stage) %}
    {#- One process writes the DuckDB file at a time and a source's files load one after
        another, so the transaction stands in for Redshift's locks. -#}
    {% set load %}
begin transaction;

create or replace temp table csv_load as
{{ batch_export_number_sql(table, source_url, etag) }};

{{ batch_export_replace_sql(table, source_url) }};

insert into {{ table }}
select
    {% for name in columns %}csv_batch.{{ name }},
    {% endfor %}{{ sql_literal(source_url) }} as source_key,
    csv_batch.source_row_number,
    now() as loaded_at,
    csv_load.load_seq
from csv_batch
cross join csv_load;

{{ batch_export_ledger_insert_sql(table, source_url, etag, outcome, '(select count(*) from csv_batch)') }};

drop table csv_batch;

drop table csv_load;

commit
    {% endset %}
    {% do run_query(load) %}
{%- endmacro %}

{#- Redshift's driver takes one statement a call. The statements (a list, never text split on
    ';') run in order in one session (the temporary table lives until it ends) and commit
    together. -#}
{% macro run_statements(statements) -%}
    {% for statement in statements %}
        {% do run_query(statement) %}
    {% endfor %}
    {% do run_query('commit') %}
{%- endmacro %}

{#- COPY of gzip JSON lines named by a manifest, columns matched by name (`'auto'`). -#}
{% macro copy_json_manifest(table, manifest_url) -%}
copy {{ table }}
from {{ sql_literal(manifest_url) }}
iam_role {{ sql_literal(copy_iam_role()) }}
format as json 'auto'
gzip
timeformat 'auto'
truncatecolumns
manifest
{%- endmacro %}

{#- The object URLs a manifest names, read by the warehouse itself from S3. -#}
{% macro manifest_urls(manifest_url) -%}
    {% do duckdb_s3_access() %}
    {% set rows = run_query(
        "select unnest(entries).url as url from read_json(" ~ sql_literal(manifest_url) ~ ", format = 'auto')"
    ) %}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}

{#- DuckDB reaches the local S3 endpoint through the httpfs extension from the
    `duckdb-ext-httpfs` wheel (nothing can be downloaded here). It is loaded with SET and LOAD on
    the connection dbt already holds, not through the profile's connect-time settings: inside one
    process DuckDB shares one instance per file and refuses a second connection whose config
    differs, and the lander and the CLI open the same file with the default config. Settings
    come as environment variables (ingestion/config/s3_access.py), not --vars: changing vars makes dbt
    re-parse the whole project, and a macro's env_var is read only when it runs. -#}
{% macro duckdb_s3_access() -%}
    {% do run_query("set autoinstall_known_extensions = false") %}
    {% do run_query("set extension_directory = " ~ sql_literal(env_var('ACCFB_DUCKDB_EXTENSION_DIRECTORY'))) %}
    {% do run_query("load httpfs") %}
    {% do run_query(
        "create or replace secret accfb_s3 (type s3, key_id 'local', secret 'local', "
        ~ "region " ~ sql_literal(env_var('ACCFB_AWS_REGION', 'us-west-2')) ~ ", "
        ~ "endpoint " ~ sql_literal(env_var('ACCFB_DUCKDB_S3_ENDPOINT')) ~ ", "
        ~ "url_style 'path', use_ssl false)"
    ) %}
{%- endmacro %}

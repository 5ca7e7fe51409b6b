{#-
    The landing tables of the sources that arrive as files (`accfb load-batch`). One home for
    their columns: the load (load_csv_object in load_from_s3.sql) casts each CSV column to the
    type below and creates the table, and so does every dbt run before it reads anything
    (on-run-start in dbt_project.yml), so a warehouse no file was ever loaded into builds too.
-#}

{#- Each export's CSV columns, in file order, with the type the load casts them to. The
    settlement export's are the contract's settlement_row v1 (ingestion/contract/schemas/batch/).
    Text says its length: a bare varchar is VARCHAR(256) on Redshift, and COPY refuses the whole
    file for one longer value. 65,535 bytes (Redshift's widest) is what the stream path keeps
    for the same fields; a longer value refuses the file with its line in STL_LOAD_ERRORS
    rather than landing cut (no TRUNCATECOLUMNS). DuckDB ignores the length. -#}
{% macro batch_landing_columns(table) -%}
    {% set columns = {
        'lander.crm_donor_exports': {
            'donor_id': 'varchar(65535)',
            'name': 'varchar(65535)',
            'email': 'varchar(65535)',
            'postal_code': 'varchar(65535)',
            'is_major_donor': 'boolean',
            'updated_at': 'timestamptz',
        },
        'lander.processor_settlements': {
            'processor': 'varchar(65535)',
            'processor_txn_id': 'varchar(65535)',
            'gross_cents': 'bigint',
            'fee_cents': 'bigint',
            'net_cents': 'bigint',
            'payout_id': 'varchar(65535)',
            'settled_at': 'timestamptz',
        },
    } %}
    {% if table not in columns %}
        {{ exceptions.raise_compiler_error(
            "no batch landing table " ~ table ~ "; known: " ~ (columns.keys() | sort | join(", "))
        ) }}
    {% endif %}
    {{ return(columns[table]) }}
{%- endmacro %}

{% macro batch_landing_table(table) -%}
    {{ return(adapter.dispatch('batch_landing_table', 'accfb')(table)) }}
{%- endmacro %}

{#- Every row keeps the file it came from and its place in it (its identity), when the load
    committed it (freshness reads that), and the load's number, `load_seq`: one more than the
    highest committed, taken while the load holds the table, so numbers commit in order and an
    incremental model that read up to load N never misses a load that committed after it, as it
    could by `loaded_at` (a transaction's start). -#}
{% macro default__batch_landing_table(table) -%}
create table if not exists {{ table }} (
    {% for name, type in batch_landing_columns(table).items() -%}
    {{ name }} {{ type }},
    {% endfor -%}
    source_key varchar(1024) not null,
    source_row_number bigint not null,
    loaded_at timestamptz not null,
    load_seq bigint
)
{%- endmacro %}

{% macro redshift__batch_landing_table(table) -%}
{{ default__batch_landing_table(table) }}
diststyle even
sortkey (load_seq)
{%- endmacro %}

{#- Tables created before loads were numbered: their rows keep a null load_seq and are read by
    full builds only. -#}
{% macro batch_landing_upgrade(table) -%}
    {{ return(adapter.dispatch('batch_landing_upgrade', 'accfb')(table)) }}
{%- endmacro %}

{% macro default__batch_landing_upgrade(table) -%}
    {{ return('') }}
{%- endmacro %}

{% macro duckdb__batch_landing_upgrade(table) -%}
alter table {{ table }} add column if not exists load_seq bigint
{%- endmacro %}

{#- The ledger of batch exports: one row per version of an export file that was loaded (or, for
    a file loaded before the ledger existed, adopted as it stood). An export is known by its key
    and its content (`etag`, the object's S3 ETag): a key whose latest version carries the same
    ETag is skipped before any COPY; the same key with another ETag is a corrected export,
    loaded as a new version with its own load_seq (macros/batch/load_from_s3.sql). Never
    deleted from: the numbers it holds are the highest a load ever took, even once a corrected
    version replaced a version's rows in its landing table. -#}
{% macro batch_export_ledger_table() -%}
    {{ return(adapter.dispatch('batch_export_ledger_table', 'accfb')()) }}
{%- endmacro %}

{% macro default__batch_export_ledger_table() -%}
create table if not exists lander.batch_export_ledger (
    landing_table varchar(256) not null,
    source_key varchar(1024) not null,
    etag varchar(256) not null,
    rows_loaded bigint not null,
    load_seq bigint not null,
    loaded_at timestamptz not null,
    outcome varchar(16) not null
)
{%- endmacro %}

{% macro redshift__batch_export_ledger_table() -%}
{{ default__batch_export_ledger_table() }}
diststyle all
sortkey (source_key)
{%- endmacro %}

{#- The files of a batch landing (`lander.crm_donor_exports`, ...) that a corrected version
    loaded past `cursor` replaced, fetched at run time. Read from the ledger, not the landing: a
    version that withdraws every row (its header alone) lands no row, and only the ledger knows it
    was loaded. -#}
{% macro export_keys_corrected_since(table, cursor) -%}
    {%- if not execute or offline_compile() -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(run_query(
        "select distinct source_key from (" ~ export_versions_corrected_since_sql(table, cursor)
        ~ ") as corrected order by 1"
    ).columns[0].values() | list) }}
{%- endmacro %}

{#- The corrected versions (`source_key`, `load_seq`) of a batch landing's files loaded past
    `cursor`. -#}
{% macro export_versions_corrected_since_sql(table, cursor) -%}
select source_key, load_seq
from {{ source('lander', 'batch_export_ledger') }}
where landing_table = {{ sql_literal(table) }}
    and outcome = 'corrected'
    and load_seq > {{ cursor }}
{%- endmacro %}

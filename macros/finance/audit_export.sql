{#-
    The audit export of one closed day's finance facts (`accfb audit export --date D`,
    ingestion/operations/audit.py): the day's ledger entries, its reconciliation legs and its
    close revisions, one Parquet file each, under a prefix that names the day and the close
    revision (a later adjustment is a new revision: new files beside the old, never over them).
    Redshift: UNLOAD with the warehouse's role, without ALLOWOVERWRITE, so an object already
    there fails the unload rather than being replaced. DuckDB (local): COPY to the same keys in
    the local audit bucket (through a scratch folder, see below). Checksums, row counts and totals go in the manifest, written by the
    caller from the objects themselves.
-#}

{#- name -> select, the one definition of each file's rows (verify recomputes from these). -#}
{% macro audit_queries(close_date, revision) -%}
    {%- set day = "cast(" ~ sql_literal(close_date) ~ " as date)" -%}
    {%- set ledger -%}
select ledger_entry_id, donation_id, refund_id, campaign_id, entry_type, designation,
    gl_account_code, gl_account_name, amount_cents, entry_at, entry_date
from {{ ref('fct_donation_ledger') }}
where entry_date = {{ day }}
    {%- endset -%}
    {%- set reconciliation -%}
select reconciliation_id, processor, processor_txn_id, settlement_type, donation_id, payout_id,
    reconciliation_status, donation_gross_cents, settlement_gross_cents, gross_difference_cents,
    donation_fee_cents, settlement_fee_cents, settlement_net_cents, donated_at, settled_at,
    export_as_of_date, settlement_source_key
from {{ ref('rpt_settlement_reconciliation') }}
where cast(coalesce(donated_at, settled_at) as date) = {{ day }}
    {%- endset -%}
    {%- set close -%}
select close_date, revision, entry_kind, recorded_at, gift_count, refund_count,
    gross_amount_cents, refunded_amount_cents, fee_cents, net_amount_cents, settled_net_cents,
    unreconciled_count, pending_count, cause_count, caused_by, invocation_id
from {{ closed_days_relation() }}
where close_date = {{ day }} and revision <= {{ revision | int }}
    {%- endset -%}
    {{ return({'ledger': ledger, 'reconciliation': reconciliation, 'close': close}) }}
{%- endmacro %}

{% macro audit_export(close_date, revision, prefix_url) -%}
    {% do adapter.dispatch('audit_export', 'accfb')(close_date, revision, prefix_url) %}
{%- endmacro %}

{% macro redshift__audit_export(close_date, revision, prefix_url) -%}
    {% for statement in redshift_audit_export_statements(close_date, revision, prefix_url) %}
        {% do run_query(statement) %}
    {% endfor %}
{%- endmacro %}

{#- The statements, shown as one script (the tests parse it). -#}
{% macro redshift_audit_export_sql(close_date, revision, prefix_url) -%}
    {{ redshift_audit_export_statements(close_date, revision, prefix_url) | join(';\n') }}
{%- endmacro %}

{#- PARALLEL OFF: one object per file (up to 6.2 GB), named <name>000.parquet; no
    ALLOWOVERWRITE: an existing object fails the unload. -#}
{% macro redshift_audit_export_statements(close_date, revision, prefix_url) -%}
    {%- set statements = [] -%}
    {%- for name, sql in audit_queries(close_date, revision).items() -%}
        {%- do statements.append(
            "unload (" ~ sql_literal(sql) ~ ")\n"
            ~ "to " ~ sql_literal(prefix_url ~ "/" ~ name) ~ "\n"
            ~ "iam_role " ~ sql_literal(copy_iam_role()) ~ "\n"
            ~ "format as parquet\n"
            ~ "parallel off"
        ) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- Locally prefix_url is a scratch folder: DuckDB's S3 writer sends no Content-MD5 or checksum,
    which a PUT to an object-locked bucket must carry, so the caller uploads the files with
    their SHA-256 (ingestion/operations/audit.py). -#}
{% macro duckdb__audit_export(close_date, revision, prefix_url) -%}
    {% for name, sql in audit_queries(close_date, revision).items() %}
        {% do run_query(
            "copy (" ~ sql ~ " order by all) to " ~ sql_literal(prefix_url ~ "/" ~ name ~ "000.parquet")
            ~ " (format parquet)"
        ) %}
    {% endfor %}
{%- endmacro %}

{#-
    The audit export of one closed day's finance facts (`accfb audit export --date D`,
    ingestion/operations/audit.py): the day's ledger entries, its reconciliation legs and its
    close revisions up to R, one Parquet file each, under a prefix that names the day and the
    revision (a later adjustment is a new revision: new files beside the old, never over them).
    The files of revision R hold exactly what R signed: in the same transaction as the writes,
    the day's figures computed from the files' own selections are compared with the sum of
    revisions <= R, and any difference refuses the export, naming it, before anything is written.
    Redshift: UNLOAD with the warehouse's role, without ALLOWOVERWRITE, so an object already
    there fails the unload rather than being replaced. DuckDB (local): COPY to the same keys in
    the local audit bucket (through a scratch folder, see below). Checksums, row counts and
    totals go in the manifest, written by the caller from the objects themselves.
-#}

{#- name -> select, the one definition of each file's rows (verify recomputes from these). The
    legs are those the day's figures count: its open legs (by gift date, else settlement date)
    and the legs settled on it (settled_net_cents), so a leg given one day and settled the next
    is in both days' files. -#}
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
    or cast(settled_at as date) = {{ day }}
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

{#- Each close figure as the files compute it (rpt_daily_close's sums, over the ledger and
    reconciliation selections), beside the sum of the close revisions <= R. Mirrored over the
    files' totals by ingestion/operations/audit.py's FIGURES (verify, from the package alone). -#}
{% macro audit_figure_sources() -%}
    {{ return({
        'gift_count': "sum(case when entry_type = 'gift' then 1 else 0 end)",
        'refund_count': "sum(case when entry_type = 'refund' then 1 else 0 end)",
        'gross_amount_cents': "sum(case when entry_type = 'gift' then amount_cents else 0 end)",
        'refunded_amount_cents': "-sum(case when entry_type = 'refund' then amount_cents else 0 end)",
        'fee_cents': "-sum(case when entry_type = 'fee' then amount_cents else 0 end)",
        'net_amount_cents': "sum(case when entry_type <> 'fee' then amount_cents else 0 end)",
    }) }}
{%- endmacro %}

{#- One row per figure where the files would not hold what revisions <= R signed. -#}
{% macro audit_export_differences_sql(close_date, revision) -%}
{%- set queries = audit_queries(close_date, revision) -%}
{%- set day = "cast(" ~ sql_literal(close_date) ~ " as date)" -%}
{%- set posted = audit_figure_sources() -%}
with

ledger as (

    {{ queries['ledger'] | indent(4) }}

),

reconciliation as (

    {{ queries['reconciliation'] | indent(4) }}

),

revisions as (

    {{ queries['close'] | indent(4) }}

),

live as (

    select
        {% for figure, source in posted.items() -%}
        coalesce({{ source }}, 0) as {{ figure }},
        {% endfor -%}
        coalesce((
            select sum(settlement_net_cents) from reconciliation
            where cast(settled_at as date) = {{ day }}
        ), 0) as settled_net_cents
    from ledger

),

signed as (

    select
        {% for figure in close_figures() -%}
        coalesce(sum({{ figure }}), 0) as {{ figure }}{{ "," if not loop.last }}
        {% endfor %}
    from revisions

),

final as (

    {% for figure in close_figures() -%}
    select
        '{{ figure }}' as figure,
        cast(signed.{{ figure }} as bigint) as signed_value,
        cast(live.{{ figure }} as bigint) as live_value
    from signed
    cross join live
    where signed.{{ figure }} <> live.{{ figure }}
    {{ "union all" if not loop.last }}
    {% endfor %}

)

select * from final
{%- endmacro %}

{#- Refuse, naming each figure, when the files would not hold exactly revision R's figures.
    Called inside the export's transaction, so what is compared is what is written. -#}
{% macro audit_export_check(close_date, revision) -%}
    {%- set differing = run_query(audit_export_differences_sql(close_date, revision)) -%}
    {%- if differing.rows | length > 0 -%}
        {%- set named = [] -%}
        {%- for row in differing.rows -%}
            {%- do named.append(
                row[0] ~ " is " ~ row[2] ~ " live, " ~ row[1] ~ " signed ("
                ~ ("%+d" | format(row[2] - row[1])) ~ ")"
            ) -%}
        {%- endfor -%}
        {% do run_query('rollback') %}
        {{ exceptions.raise_compiler_error(
            "audit export refused: the live day differs from revisions <= " ~ revision ~ ": "
            ~ (named | join("; "))
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- The check and the unloads in one session and one transaction (serializable: one snapshot). -#}
{% macro redshift__audit_export(close_date, revision, prefix_url) -%}
    {% do audit_export_check(close_date, revision) %}
    {% for statement in redshift_audit_export_statements(close_date, revision, prefix_url) %}
        {% do run_query(statement) %}
    {% endfor %}
    {% do run_query('commit') %}
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
    {% do run_query('begin transaction') %}
    {% do audit_export_check(close_date, revision) %}
    {% for name, sql in audit_queries(close_date, revision).items() %}
        {% do run_query(
            "copy (" ~ sql ~ " order by all) to " ~ sql_literal(prefix_url ~ "/" ~ name ~ "000.parquet")
            ~ " (format parquet)"
        ) %}
    {% endfor %}
    {% do run_query('commit') %}
{%- endmacro %}

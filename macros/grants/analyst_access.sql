{#- Analysts read the marts through one database role that the deployment creates; the
    operations page reads the ops tables it shows through a second. dbt creates each role on its
    first run against a warehouse (Redshift has no CREATE ROLE IF NOT EXISTS, so the hook looks
    in svv_roles first), creates the schema and grants the role usage on it. Each model's
    `+grants` then grants select to its role: the marts (dbt_project.yml) to
    `role:accfb_analyst`, and only ops.pipeline_freshness and ops.agg_quarantine_reasons
    (models/operations/) to `role:accfb_operations`; ops.dbt_node_results is no model, and its
    grant to that role is made by the refresh that writes it (ingestion/operations/
    node_results.py). On dbt-redshift an unprefixed grantee is a
    user, and the prefix is honoured only with the `redshift_grants_extended` behaviour flag on.
    Analysts' users get their role from the warehouse admin (docs/analysts.md); the deployed
    dashboards' IAM role gets both at sign-in (its RedshiftDbRoles tag, infra/stacks/serving.py).
    Landing, staging (donor PII), the other ops tables (raw quarantined records) are never
    granted. -#}

{% macro analyst_role() -%}
    {{ return('accfb_analyst') }}
{%- endmacro %}

{% macro analyst_schema() -%}
    {{ return(generate_schema_name('marts', none)) }}
{%- endmacro %}

{% macro operations_role() -%}
    {{ return('accfb_operations') }}
{%- endmacro %}

{#- Each reading role and the schema it is given usage on, in the order they are created. -#}
{% macro reading_roles() -%}
    {{ return([
        (analyst_role(), analyst_schema()),
        (operations_role(), generate_schema_name('ops', none)),
    ]) }}
{%- endmacro %}

{#- The statements, in order; `missing_roles` are created first (those not in svv_roles). -#}
{% macro analyst_access_sql(missing_roles) -%}
    {{ return(adapter.dispatch('analyst_access_sql')(missing_roles)) }}
{%- endmacro %}

{% macro redshift__analyst_access_sql(missing_roles) -%}
    {%- set statements = [] -%}
    {%- for role, schema in reading_roles() -%}
        {%- if role in missing_roles -%}
            {%- do statements.append('create role ' ~ role) -%}
        {%- endif -%}
        {%- do statements.append('create schema if not exists ' ~ schema) -%}
        {%- do statements.append('grant usage on schema ' ~ schema ~ ' to role ' ~ role) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{#- DuckDB has no roles or grants: the local warehouse is one person's file. -#}
{% macro default__analyst_access_sql(missing_roles) -%}
    {{ return([]) }}
{%- endmacro %}

{#- on-run-start: runs the statements against the warehouse; renders no SQL of its own. Only
    for the commands that build marts: `dbt compile` renders hooks too (offline, in the tests). -#}
{% macro analyst_access() -%}
    {%- if execute and target.type == 'redshift' and flags.WHICH in ['run', 'build'] -%}
        {%- set roles = reading_roles() | map(attribute=0) | list -%}
        {%- set found = run_query(
            "select role_name from svv_roles where role_name in ('"
            ~ roles | join("', '") ~ "')"
        ) -%}
        {%- set existing = found.columns[0].values() -%}
        {%- set missing = [] -%}
        {%- for role in roles if role not in existing -%}
            {%- do missing.append(role) -%}
        {%- endfor -%}
        {%- for statement in analyst_access_sql(missing) -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

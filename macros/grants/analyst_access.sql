{#- Analysts read the marts through one database role that the deployment creates: dbt creates it
    on its first run against a warehouse (Redshift has no CREATE ROLE IF NOT EXISTS, so the hook
    looks in svv_roles first), creates the marts schema and grants the role usage on it. Each
    mart's `+grants` (dbt_project.yml) then grants select to `role:accfb_analyst`: on dbt-redshift
    an unprefixed grantee is a user, and the prefix is honoured only with the
    `redshift_grants_extended` behaviour flag on. Analysts' users get the role from the
    warehouse admin (docs/analysts.md); landing, staging (donor PII) and ops are never granted. -#}

{% macro analyst_role() -%}
    {{ return('accfb_analyst') }}
{%- endmacro %}

{% macro analyst_schema() -%}
    {{ return(generate_schema_name('marts', none)) }}
{%- endmacro %}

{#- The statements, in order; `create_role` when the role does not exist yet. -#}
{% macro analyst_access_sql(create_role) -%}
    {{ return(adapter.dispatch('analyst_access_sql')(create_role)) }}
{%- endmacro %}

{% macro redshift__analyst_access_sql(create_role) -%}
    {%- set statements = [] -%}
    {%- if create_role -%}
        {%- do statements.append('create role ' ~ analyst_role()) -%}
    {%- endif -%}
    {%- do statements.append('create schema if not exists ' ~ analyst_schema()) -%}
    {%- do statements.append(
        'grant usage on schema ' ~ analyst_schema() ~ ' to role ' ~ analyst_role()
    ) -%}
    {{ return(statements) }}
{%- endmacro %}

{#- DuckDB has no roles or grants: the local warehouse is one person's file. -#}
{% macro default__analyst_access_sql(create_role) -%}
    {{ return([]) }}
{%- endmacro %}

{#- on-run-start: runs the statements against the warehouse; renders no SQL of its own. Only
    for the commands that build marts: `dbt compile` renders hooks too (offline, in the tests). -#}
{% macro analyst_access() -%}
    {%- if execute and target.type == 'redshift' and flags.WHICH in ['run', 'build'] -%}
        {%- set found = run_query(
            "select count(*) from svv_roles where role_name = '" ~ analyst_role() ~ "'"
        ) -%}
        {%- for statement in analyst_access_sql(found.columns[0].values()[0] == 0) -%}
            {%- do run_query(statement) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

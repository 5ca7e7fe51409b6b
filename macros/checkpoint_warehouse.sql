{#- DuckDB writes what a build changed into the warehouse file once, at the build's end. -#}
{% macro checkpoint_warehouse() -%}
    {{ return(adapter.dispatch('checkpoint_warehouse', 'accfb')()) }}
{%- endmacro %}

{% macro duckdb__checkpoint_warehouse() -%}
    checkpoint
{%- endmacro %}

{% macro default__checkpoint_warehouse() -%}
    select 1
{%- endmacro %}

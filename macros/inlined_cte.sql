{#-
    `name as {{ inlined() }} (...)`: a CTE the query reads more than once, inlined into each read
    instead of computed once and kept. DuckDB keeps such a CTE whole, every column of every row,
    before any filter of the reads below reaches it: an import CTE over a fact then costs the
    whole history each pass (rpt_settlement_reconciliation's `donations` was 1.2 s of 1.6 at
    4M events). Inlined, each read takes only its columns and its filter. Redshift decides itself
    and has no such hint.
-#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'accfb')()) }}
{%- endmacro %}

{% macro duckdb__inlined() -%}
    not materialized
{%- endmacro %}

{% macro default__inlined() -%}
{%- endmacro %}

{#-
    The cursor every stream-fed incremental model reads from: `landed_batch`, the batch number
    landing/landed_records gives each pass it appends (its header says why a batch number never
    commits below one already visible). A model that has processed batch N reads only
    `landed_batch > N`: exactly the batches it has not processed, whatever their timestamps.

    The value is fetched when the model runs and written into its SQL as a literal, so DuckDB's
    zone maps and Redshift's sort key on `landed_batch` prune: a scalar subquery in the filter
    prunes neither. It is the model's own newest batch, committed with its rows, so a rerun after
    a failure reads the same batches again, and a pass that committed never reads them twice.
-#}
{% macro batch_cursor(column='landed_batch', relation=none) -%}
    {%- set relation = relation if relation is not none else this -%}
    {%- if offline_compile() -%}
        {{ return(var('offline_batch_cursor', 0) | int) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(0) }}
    {%- endif -%}
    {%- set result = run_query('select coalesce(max(' ~ column ~ '), 0) from ' ~ relation) -%}
    {{ return(result.columns[0].values()[0] | int) }}
{%- endmacro %}

{#- One row fetched at run time (e.g. a batch's bounds), as a list; all nulls when compiling
    offline or before execution. -#}
{% macro run_time_row(sql, width=2) -%}
    {%- if not execute or offline_compile() -%}
        {{ return([none] * width) }}
    {%- endif -%}
    {{ return(run_query(sql).rows[0] | list) }}
{%- endmacro %}

{#- Compiling for Redshift with none reachable (macros/is_incremental.sql): cursors come from the
    `offline_batch_cursor` var instead of the warehouse. -#}
{% macro offline_compile() -%}
    {{ return(var('offline_is_incremental', none) is not none) }}
{%- endmacro %}

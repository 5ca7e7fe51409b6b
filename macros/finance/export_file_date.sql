{#- The date a processor's export names itself by: the first YYYY-MM-DD in its file name (not
    its folders), or null. Processors name their daily exports by the day they cover, and a
    correction is a later-dated file, so the name says which version of a transaction is newer
    whatever order the files are loaded in. -#}
{% macro export_file_date(key) -%}
    {{ return(adapter.dispatch('export_file_date', 'accfb')(key)) }}
{%- endmacro %}

{% macro duckdb__export_file_date(key) -%}
    try_cast(nullif(regexp_extract({{ key }}, '([0-9]{4}-[0-9]{2}-[0-9]{2})[^/]*$', 1), '') as date)
{%- endmacro %}

{#- Redshift has no try_cast: the pattern admits only digits, and a month or day out of range
    (a file named 2026-13-45) fails the cast, which the file's name makes plain. -#}
{% macro redshift__export_file_date(key) -%}
    cast(nullif(left(regexp_substr({{ key }}, '[0-9]{4}-[0-9]{2}-[0-9]{2}[^/]*$'), 10), '') as date)
{%- endmacro %}

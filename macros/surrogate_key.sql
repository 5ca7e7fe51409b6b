{#-
    A surrogate key: the md5 of a key's parts joined as text (ledger entries, reconciliation
    legs, settlements, donor versions, distribution groups). On Redshift dbt.hash() casts its
    input to TEXT, which Redshift makes VARCHAR(256): parts longer than that together would be
    cut before hashing, and two keys that share their first 256 bytes would collide. Redshift
    casts to its widest VARCHAR instead; DuckDB keeps dbt.hash(), whose text has no limit.
-#}
{% macro surrogate_key(text) -%}
    {{ return(adapter.dispatch('surrogate_key', 'accfb')(text)) }}
{%- endmacro %}

{% macro default__surrogate_key(text) -%}
    {{ dbt.hash(text) }}
{%- endmacro %}

{% macro redshift__surrogate_key(text) -%}
    md5(cast({{ text }} as varchar(65535)))
{%- endmacro %}

{#- A non-text part of a surrogate key (a date, a timestamp) as text: a cast with a length on
    Redshift, as there a bare one is VARCHAR(256). -#}
{% macro key_text(column) -%}
    {{ return(adapter.dispatch('key_text', 'accfb')(column)) }}
{%- endmacro %}

{% macro default__key_text(column) -%}
    {{ dbt.cast(column, api.Column.translate_type('string')) }}
{%- endmacro %}

{% macro redshift__key_text(column) -%}
    cast({{ column }} as varchar(65535))
{%- endmacro %}

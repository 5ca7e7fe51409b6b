{#- A keyed hash of personal data (sha256 of key || normalised value): joinable across tables,
    not reversible by someone who lacks the key, unlike a plain hash of a guessable email. -#}
{% macro pii_hash(value) -%}
    {%- set key = var('pii_hash_key') -%}
    {%- if not key -%}
        {{ exceptions.raise_compiler_error("pii_hash_key is empty: set ACCFB_PII_HASH_KEY for target " ~ target.name) }}
    {%- endif -%}
    {{ return(adapter.dispatch('pii_hash', 'accfb')(value, key)) }}
{%- endmacro %}

{% macro duckdb__pii_hash(value, key) -%}
    sha256('{{ key }}' || lower(trim({{ value }})))
{%- endmacro %}

{% macro redshift__pii_hash(value, key) -%}
    sha2('{{ key }}' || lower(trim({{ value }})), 256)
{%- endmacro %}

{#-
    A 64-bit hash of a key, stored beside it (`<key>_hash`) on the large tables that passes
    probe by key. DuckDB uses no index for a join and the keys are random UUIDs, so a probe reads
    the key column whole: finding a minute's keys among 6M gifts by the UUID text took 0.16 s,
    by a BIGINT hash 0.05 s. A collision only makes a probe read one batch too many, since the
    rows found are then matched on the key itself.
-#}
{% macro key_hash(column) -%}
    {{ return(adapter.dispatch('key_hash', 'accfb')(column)) }}
{%- endmacro %}

{#- DuckDB's hash() is a UBIGINT: the top 63 bits fit the BIGINT both warehouses declare. -#}
{% macro duckdb__key_hash(column) -%}
    cast(hash({{ column }}) >> 1 as bigint)
{%- endmacro %}

{#- Redshift: FNV-1a, 64 bits, a BIGINT. -#}
{% macro default__key_hash(column) -%}
    fnv_hash({{ column }})
{%- endmacro %}

{#- A keyed hash of personal data, HMAC-SHA256 of the trimmed, lower-cased value: joinable across
    tables, not reversible by someone who lacks the key, unlike a plain hash of a guessable email.
    The key is never in SQL: the function holds it (ingestion/pii/: a Lambda UDF reading Secrets
    Manager in Redshift, a function dbt-duckdb registers locally), so compiled SQL, manifest.json,
    run_results.json, dbt.log, the docs site and the query history show only this call. -#}
{% macro pii_hash(value) -%}
    f_accfb_pii_hmac({{ value }})
{%- endmacro %}

{#- Redshift: the external function, (re)declared before every run (on-run-start), so a new
    workgroup or a moved Lambda needs nothing by hand. Its name, the Lambda and the role Redshift
    assumes to invoke it are configuration, not secrets. Redshift grants EXECUTE on a new function
    to PUBLIC: anyone who could call it could hash guessed emails and match them to the stored
    hashes, so the grant is revoked and only its owner, the dbt user, calls it. DuckDB: registered
    by the profile's plugin (ingestion/pii/duckdb_plugin.py); nothing to run. -#}
{% macro pii_hash_function() -%}
    {{ return(adapter.dispatch('pii_hash_function', 'accfb')()) }}
{%- endmacro %}

{% macro default__pii_hash_function() -%}
    select 1
{%- endmacro %}

{% macro redshift__pii_hash_function() -%}
    create or replace external function f_accfb_pii_hmac(varchar(max))
    returns varchar(64)
    stable
    lambda {{ sql_literal(var('pii_hash_lambda')) }}
    iam_role {{ sql_literal(var('pii_hash_lambda_role')) }};
    revoke execute on function f_accfb_pii_hmac(varchar(max)) from public
{%- endmacro %}

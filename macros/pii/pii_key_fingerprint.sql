{#-
    Which key the stored hashes were made with: the fingerprint of the PII hash key, the hash of
    a fixed label under it (computed by f_accfb_pii_hmac itself, so no key and no fingerprint is
    ever SQL text). The first build records it; every run that executes (build, run, test, seed,
    snapshot) refuses before any model when the current key's fingerprint differs, since hashes
    of two keys would split the donors' joins silently. `accfb rehash-pii` rebuilds every hash
    with the current key (var `pii_key_rotation`: no check) and then records its fingerprint
    (record_pii_key_fingerprint). The fingerprint reveals nothing a stored hash does not.
-#}
{% macro pii_key_fingerprint_table() -%}
create table if not exists lander.pii_key_fingerprint (
    fingerprint varchar(64) not null,
    recorded_at timestamp not null
)
{%- endmacro %}

{% macro pii_key_fingerprint_sql() -%}
    {{ pii_hash("'accfb pii key fingerprint'") }}
{%- endmacro %}

{% macro pii_key_mismatch_sql() -%}
select count(*) as mismatched
from lander.pii_key_fingerprint
where fingerprint <> {{ pii_key_fingerprint_sql() }}
{%- endmacro %}

{#- Recorded once, by the first run; afterwards only by `accfb rehash-pii`. -#}
{% macro pii_key_first_fingerprint_sql() -%}
insert into lander.pii_key_fingerprint (fingerprint, recorded_at)
select
    {{ pii_key_fingerprint_sql() }} as fingerprint,
    {{ dbt.current_timestamp() }} as recorded_at
where not exists (select 1 from lander.pii_key_fingerprint)
{%- endmacro %}

{#- An on-run-start hook, after the table's: the check runs as the hook renders, which is after
    the earlier hooks ran (the function is declared, the table exists). `dbt compile` and
    `dbt docs generate` render hooks without running them, and must work on a new warehouse and
    offline, so only the commands that run hooks check. -#}
{% macro pii_key_check() -%}
    {%- if execute and flags.WHICH in ('build', 'run', 'test', 'seed', 'snapshot')
        and not var('pii_key_rotation', false) -%}
        {%- set mismatched = run_query(pii_key_mismatch_sql()).columns[0].values()[0] | int -%}
        {%- if mismatched > 0 -%}
            {{ exceptions.raise_compiler_error(
                "The PII hash key is not the key the stored donor hashes were made with: run "
                ~ "`accfb rehash-pii` to rehash them with it (docs/runbooks.md, \"Rotating the "
                ~ "PII hash key\"), or restore the previous key."
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ pii_key_first_fingerprint_sql() }}
{%- endmacro %}

{#- run-operation, the last step of `accfb rehash-pii` once every hash is the current key's. -#}
{% macro record_pii_key_fingerprint() -%}
    {% do run_query(pii_key_fingerprint_table()) %}
    {% do run_query('delete from lander.pii_key_fingerprint') %}
    {% do run_query(pii_key_first_fingerprint_sql()) %}
    {% do run_query('commit') if target.type == 'redshift' %}
{%- endmacro %}

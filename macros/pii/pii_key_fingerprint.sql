{#-
    Which key the stored hashes were made with: the fingerprint of the PII hash key, the hash of
    a fixed label under it (computed by f_accfb_pii_hmac itself, so no key and no fingerprint is
    ever SQL text). The first build of a warehouse without hashes records it; every command that
    runs the hooks refuses before any model when the current key's fingerprint differs, since
    hashes of two keys would split the donors' joins silently. `accfb rehash-pii` rebuilds every hash
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

{#- The hashed models' root: every model that stores a keyed hash is dim_donors or downstream
    of it (HASHED_MODELS in ingestion/pii/keyed_hash.py), so hashes exist iff it holds rows. -#}
{% macro pii_hashes_exist() -%}
    {%- set node = graph.nodes['model.accfb.dim_donors'] -%}
    {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
    {%- if relation is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set rows = run_query('select count(*) from (select 1 from ' ~ relation ~ ' limit 1) as one') -%}
    {{ return(rows.columns[0].values()[0] | int > 0) }}
{%- endmacro %}

{#- An on-run-start hook, after the table's: the check runs as the hook renders, which is after
    the earlier hooks ran (the function is declared, the table exists). Only the commands that
    render hooks without running them skip it (they must work on a new warehouse and offline);
    every other command, `dbt retry` and commands dbt adds later included, is checked. With no
    fingerprint recorded, a warehouse that already holds hashes is refused too: a deployment
    given a fresh key would otherwise adopt it beside hashes of the old one. -#}
{% macro pii_key_check() -%}
    {%- if execute and flags.WHICH not in ('compile', 'generate', 'serve', 'parse', 'list', 'ls', 'show')
        and not var('pii_key_rotation', false) -%}
        {%- set mismatched = run_query(pii_key_mismatch_sql()).columns[0].values()[0] | int -%}
        {%- set recorded = run_query('select count(*) from lander.pii_key_fingerprint')
            .columns[0].values()[0] | int -%}
        {%- if mismatched > 0 or (recorded == 0 and pii_hashes_exist()) -%}
            {{ exceptions.raise_compiler_error(
                "The PII hash key is not the key recorded for the stored donor hashes: run "
                ~ "`accfb rehash-pii` to rehash them with it (docs/runbooks.md, \"Rotating the "
                ~ "PII hash key\"), or restore the previous key."
            ) }}
        {%- endif -%}
    {%- endif -%}
    {{ pii_key_first_fingerprint_sql() }}
{%- endmacro %}

{#- run-operation, the last step of `accfb rehash-pii` once every hash is the current key's. The
    delete and the insert in one transaction: a failed insert leaves the previous record. -#}
{% macro record_pii_key_fingerprint() -%}
    {% do run_query(pii_key_fingerprint_table()) %}
    {% do run_query('begin transaction') %}
    {% do run_query('delete from lander.pii_key_fingerprint') %}
    {% do run_query(pii_key_first_fingerprint_sql()) %}
    {% do run_query('commit') %}
{%- endmacro %}

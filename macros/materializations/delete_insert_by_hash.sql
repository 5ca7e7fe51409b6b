{#-
    delete+insert for a model keyed by one column with a stored hash of it (`probe_hash`,
    macros/key_hash.sql). dbt's delete+insert deletes `where key in (the new keys)`, which reads
    the key column of the whole table every pass (fct_donations, 6.2M rows: 0.146 s of a
    minute's 48k events, growing with the history). This one first finds the batches holding
    the new keys on the hash, then deletes the keys within those batches only, which DuckDB's
    zone maps and Redshift's sort key on `landed_batch` prune by (0.011 s). A key found in no
    batch is new: nothing is deleted. Keys spread over more than `probe_batch_limit` batches are
    deleted by hash and key over the whole table.

    The batches it deletes from are recorded in lander.rewritten_batches, in the same
    transaction (any batch: a null), so parts summed per batch of this model
    (macros/summed_per_batch.sql) re-sum the batches that lost rows, not the days they fell on.
-#}
{% macro get_incremental_delete_insert_by_hash_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set key = arg_dict['unique_key'] -%}
    {%- set hash_column = config.require('probe_hash') -%}
    {%- if key is not string -%}
        {{ exceptions.raise_compiler_error("delete_insert_by_hash takes one unique_key column, not " ~ key) }}
    {%- endif -%}
    {%- set batches = batches_holding(target, hash_column, "select " ~ hash_column ~ " from " ~ source) -%}
    {%- set dest_cols_csv = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    {%- if batches is none or batches | length > 0 %}
insert into lander.rewritten_batches (model, pass_batch, landed_batch)
        {%- for batch in (batches if batches is not none else [none]) %}
select {{ sql_literal(target.identifier) }}, max(landed_batch), cast({{ batch if batch is not none else 'null' }} as bigint)
from {{ source }}
        {{- ' union all' if not loop.last }}
        {%- endfor %};
delete from {{ target }}
where {{ within_batches(batches) }}
    {%- if batches is none %}
    and {{ hash_column }} in (select {{ hash_column }} from {{ source }})
    {%- endif %}
    and {{ key }} in (select {{ key }} from {{ source }});
    {%- endif %}
insert into {{ target }} ({{ dest_cols_csv }})
(
    select {{ dest_cols_csv }}
    from {{ source }}
)
{%- endmacro %}

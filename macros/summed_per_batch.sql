{#-
    The body of a model of parts summed per group and landing batch of `input`, a model that
    delete_insert_by_hash writes (int_ledger_daily, int_campaign_daily_batches). Cursor:
    `computed_batch`, the newest batch of `input` a pass read. A pass re-sums only the new
    batches and the batches `input`'s rewrites deleted rows from (lander.rewritten_batches),
    each from its own rows, a range the warehouse prunes by landed_batch: a row that moved to
    another group left its old batch, so the old group is re-summed without reading the rest of
    it. A part whose rows all moved to a newer batch is rewritten with its `emptied` values:
    delete+insert replaces only the keys it is given.
    `group_by`: [expression, name] pairs. `measures`: [aggregate, name, emptied] triples.
-#}
{% macro summed_per_batch(input, group_by, measures) -%}
{%- set incremental = is_incremental() -%}
{%- if incremental -%}
    {%- set cursor = batch_cursor('computed_batch') -%}
    {%- set rewritten = rewritten_batches(input.identifier, cursor) -%}
{%- endif -%}
{%- set names = group_by | map('last') | list + ['landed_batch'] %}

with

input_rows as (

    select * from {{ input }}
    {% if incremental %}
    where landed_batch > {{ cursor }} or {{ within_batches(rewritten) }}
    {% endif %}

),

parts as (

    select
        {% for expression, name in group_by -%}
        {{ expression }} as {{ name }},
        {% endfor -%}
        landed_batch,
        {% for aggregate, name, emptied in measures -%}
        {{ aggregate }} as {{ name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from input_rows
    group by {% for expression, name in group_by %}{{ expression }}, {% endfor %}landed_batch

),

pass as (

    select max(landed_batch) as computed_batch from input_rows

),

{% if incremental %}
keys as (

    select {{ names | join(', ') }} from parts

    union

    select {{ names | join(', ') }} from {{ this }}
    where {{ within_batches(rewritten) }}

),

final as (

    select
        {% for name in names -%}
        keys.{{ name }},
        {% endfor -%}
        {% for aggregate, name, emptied in measures -%}
        {{ 'coalesce(parts.' ~ name ~ ', ' ~ emptied ~ ')' if emptied is not none else 'parts.' ~ name }} as {{ name }},
        {% endfor -%}
        pass.computed_batch
    from keys
    cross join pass
    left join parts
        on {% for name in names %}keys.{{ name }} = parts.{{ name }}{{ '\n        and ' if not loop.last }}{% endfor %}

)
{% else %}
final as (

    select parts.*, pass.computed_batch
    from parts
    cross join pass

)
{% endif %}

select * from final
{%- endmacro %}

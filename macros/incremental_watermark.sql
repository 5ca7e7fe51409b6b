{#- Where an incremental pass starts reading: the newest arrival already built, less an overlap
    that the unique_key merge absorbs. An empty table starts from the beginning. -#}
{% macro incremental_watermark(column, overlap_minutes=none) -%}
    {%- set overlap = overlap_minutes if overlap_minutes is not none else landing_overlap_minutes() -%}
    (
        select coalesce(max({{ column }}), cast('1970-01-01' as timestamp))
            - interval '{{ overlap }} minutes'
        from {{ this }}
    )
{%- endmacro %}

{#- The var is per warehouse type (dbt_project.yml says why); `--vars` may give one number. -#}
{% macro landing_overlap_minutes() -%}
    {%- set configured = var('landing_overlap_minutes') -%}
    {{ return(configured[target.type] if configured is mapping else configured) }}
{%- endmacro %}

{#- Where an incremental pass starts reading: the newest arrival already built, less an overlap
    that the unique_key merge absorbs. An empty table starts from the beginning. -#}
{% macro incremental_watermark(column, overlap_minutes=var('landing_overlap_minutes')) -%}
    (
        select coalesce(max({{ column }}), cast('1970-01-01' as timestamp))
            - interval '{{ overlap_minutes }} minutes'
        from {{ this }}
    )
{%- endmacro %}

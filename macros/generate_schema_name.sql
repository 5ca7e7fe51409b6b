{#- Folder schemas are used as named (landing, staging, marts, ops) so analysts and auditors
    find the same schema names in every environment; the target schema is the fallback. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

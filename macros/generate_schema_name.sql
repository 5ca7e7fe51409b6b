{#- Folder schemas are used as named (landing, staging, marts, ops) so analysts and auditors
    find the same schema names in every environment; the target schema is the fallback.
    `accfb smoke` (ingestion/operations/smoke.py) sets the `scratch_schema` var: every schema
    is then `<scratch>_<schema>`, so its build never writes the real ones. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set scratch = var('scratch_schema', none) -%}
    {{ (scratch ~ '_' if scratch else '') ~ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}

{#-
    The one way a value becomes a SQL string literal: every macro that puts text it did not
    write itself (an S3 key, a pattern, a role ARN) into SQL goes through here.
    Quotes are doubled; Redshift also reads a backslash as an escape in a literal, so it is
    doubled there. A NUL byte cannot be in a literal on either warehouse: compilation fails.
-#}
{% macro sql_literal(value) -%}
    {{ return(adapter.dispatch('sql_literal', 'accfb')(value)) }}
{%- endmacro %}

{% macro default__sql_literal(value) -%}
    {%- set text = value | string -%}
    {%- if '\x00' in text -%}
        {{ exceptions.raise_compiler_error('a SQL literal cannot hold a NUL byte') }}
    {%- endif -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}

{% macro redshift__sql_literal(value) -%}
    {%- set text = value | string -%}
    {%- if '\x00' in text -%}
        {{ exceptions.raise_compiler_error('a SQL literal cannot hold a NUL byte') }}
    {%- endif -%}
    '{{ text | replace("\\", "\\\\") | replace("'", "''") }}'
{%- endmacro %}

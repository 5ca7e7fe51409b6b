{#-
    The few JSON operations contract validation needs, per warehouse. Everything above them
    (which check, in which order, with which reason) is shared by both warehouses.
    A value's "kind" is one of: missing, null, string, integer, number, boolean, object, array.
-#}

{#- Parse every landed record once: `record` (null when the text is not JSON), whether it is a
    JSON object, and what the contract checks need from it. -#}
{% macro parsed_records(landed) -%}
    {{ return(adapter.dispatch('parsed_records', 'accfb')(landed)) }}
{%- endmacro %}

{#- DuckDB pulls every contract path out of the record in one pass (one parse per record). -#}
{% macro duckdb__parsed_records(landed) -%}
    select
        with_record.*,
        record is not null as is_json,
        coalesce(json_type(record) = 'OBJECT', false) as is_object,
        json_extract(record, [
            {%- for p in contract_checks().paths %}'{{ p.json_path }}'{{ ", " if not loop.last }}{% endfor -%}
        ]) as contract_values
    from (
        select
            {{ landed }}.*,
            case when json_valid(kinesis_data) then kinesis_data::json end as record
        from {{ landed }}
    ) as with_record
{%- endmacro %}

{#- Redshift's streaming view already parsed the record into SUPER (see stream_events). -#}
{% macro redshift__parsed_records(landed) -%}
    select
        {{ landed }}.*,
        record is not null as is_json,
        coalesce(is_object(record), false) as is_object
    from {{ landed }}
{%- endmacro %}

{% macro contract_value(path, position) -%}
    {{ return(adapter.dispatch('contract_value', 'accfb')(path, position)) }}
{%- endmacro %}

{% macro duckdb__contract_value(path, position) -%}
    contract_values[{{ position }}]
{%- endmacro %}

{% macro redshift__contract_value(path, position) -%}
    record.{{ path }}
{%- endmacro %}

{% macro json_kind(value) -%}
    {{ return(adapter.dispatch('json_kind', 'accfb')(value)) }}
{%- endmacro %}

{% macro duckdb__json_kind(value) -%}
    case json_type({{ value }})
        when 'VARCHAR' then 'string'
        when 'BIGINT' then 'integer'
        when 'UBIGINT' then 'integer'
        when 'HUGEINT' then 'integer'
        when 'DOUBLE' then 'number'
        when 'BOOLEAN' then 'boolean'
        when 'OBJECT' then 'object'
        when 'ARRAY' then 'array'
        when 'NULL' then 'null'
        else 'missing'
    end
{%- endmacro %}

{% macro redshift__json_kind(value) -%}
    case
        when {{ value }} is null then 'missing'
        when is_varchar({{ value }}) then 'string'
        when is_integer({{ value }}) or is_bigint({{ value }}) then 'integer'
        when is_float({{ value }}) or is_decimal({{ value }}) then 'number'
        when is_boolean({{ value }}) then 'boolean'
        when is_object({{ value }}) then 'object'
        when is_array({{ value }}) then 'array'
        else 'null'
    end
{%- endmacro %}

{% macro json_text(value) -%}
    {{ return(adapter.dispatch('json_text', 'accfb')(value)) }}
{%- endmacro %}

{% macro duckdb__json_text(value) -%}
    ({{ value }} ->> '$')
{%- endmacro %}

{% macro redshift__json_text(value) -%}
    ({{ value }})::varchar
{%- endmacro %}

{% macro json_number(value) -%}
    {{ return(adapter.dispatch('json_number', 'accfb')(value)) }}
{%- endmacro %}

{% macro duckdb__json_number(value) -%}
    ({{ value }})::double
{%- endmacro %}

{% macro redshift__json_number(value) -%}
    ({{ value }})::float8
{%- endmacro %}

{#- A pattern match on the whole string, plus (where the warehouse can) a real parse. -#}
{% macro matches_format(text, pattern, format) -%}
    {{ return(adapter.dispatch('matches_format', 'accfb')(text, pattern, format)) }}
{%- endmacro %}

{% macro duckdb__matches_format(text, pattern, format) -%}
    (regexp_matches({{ text }}, '{{ pattern }}')
    {%- if format == 'date-time' %} and try_cast({{ text }} as timestamptz) is not null
    {%- elif format == 'date' %} and try_cast({{ text }} as date) is not null{% endif %})
{%- endmacro %}

{% macro redshift__matches_format(text, pattern, format) -%}
    ({{ text }} ~ '{{ pattern }}')
{%- endmacro %}


{#- Typed access to a field of a validated record (staging models read payloads with these). -#}
{% macro json_field(column, path) -%}
    {{ return(adapter.dispatch('json_field', 'accfb')(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_field(column, path) -%}
    ({{ column }} ->> '$.{{ path }}')
{%- endmacro %}

{% macro redshift__json_field(column, path) -%}
    ({{ column }}.{{ path }})::varchar
{%- endmacro %}

{% macro to_utc_timestamp(text) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'accfb')(text)) }}
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(text) -%}
    timezone('UTC', cast({{ text }} as timestamptz))
{%- endmacro %}

{% macro redshift__to_utc_timestamp(text) -%}
    convert_timezone('UTC', cast({{ text }} as timestamptz))::timestamp
{%- endmacro %}

{#- An entity's payload fields pulled out of the record in one parse: DuckDB re-parses the text
    for every `->>`, so a model with fifteen fields would parse each record fifteen times.
    `json_extract_many` goes in the CTE that reads the events, `json_pick` where a field is
    used; Redshift navigates the SUPER it already holds, so it needs neither. -#}
{% macro json_extract_many(column, paths) -%}
    {{ return(adapter.dispatch('json_extract_many', 'accfb')(column, paths)) }}
{%- endmacro %}

{% macro duckdb__json_extract_many(column, paths) -%}
    json_extract_string({{ column }}, [
        {%- for path in paths %}'$.{{ path }}'{{ ", " if not loop.last }}{% endfor -%}
    ])
{%- endmacro %}

{% macro default__json_extract_many(column, paths) -%}
    cast(null as varchar)
{%- endmacro %}

{% macro json_pick(column, path, paths) -%}
    {{ return(adapter.dispatch('json_pick', 'accfb')(column, path, paths)) }}
{%- endmacro %}

{% macro duckdb__json_pick(column, path, paths) -%}
    extracted[{{ paths.index(path) + 1 }}]
{%- endmacro %}

{% macro default__json_pick(column, path, paths) -%}
    {{ json_field(column, path) }}
{%- endmacro %}

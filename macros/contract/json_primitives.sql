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
        {#- Past HUGEINT an integer parses as DOUBLE; its text still says integer, as Python's
            parser does. An overflowing number (1e400) is no JSON number Python can hold. #}
        when 'DOUBLE' then case
            when regexp_matches({{ value }}::varchar, '^-?[0-9]+$') then 'integer'
            when isinf(({{ value }})::double) then 'overflow'
            else 'number'
        end
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

{#- An explicit length: a bare varchar is VARCHAR(256) on Redshift, which would cut a longer
    string (and so change what is hashed or compared). 65535 is Redshift's widest. -#}
{% macro redshift__json_text(value) -%}
    ({{ value }})::varchar(65535)
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

{#- The patterns decide calendar validity themselves (ingestion/contract/limits.py), so
    Redshift, which has no try-cast, needs nothing more. DuckDB also proves its own cast takes
    the value, so staging's cast can never fail on a record the check passed. -#}
{% macro duckdb__matches_format(text, pattern, format) -%}
    (regexp_matches({{ text }}, {{ sql_literal(pattern) }})
    {%- if format == 'date-time' %} and try_cast(upper({{ text }}) as timestamptz) is not null
    {%- elif format == 'date' %} and try_cast({{ text }} as date) is not null{% endif %})
{%- endmacro %}

{% macro redshift__matches_format(text, pattern, format) -%}
    ({{ text }} ~ {{ sql_literal(pattern) }})
{%- endmacro %}

{#- Whether a JSON object repeats a key: which value then wins differs between parsers. -#}
{% macro has_repeated_keys(value) -%}
    {{ return(adapter.dispatch('has_repeated_keys', 'accfb')(value)) }}
{%- endmacro %}

{% macro duckdb__has_repeated_keys(value) -%}
    (len(json_keys({{ value }})) <> len(list_distinct(json_keys({{ value }}))))
{%- endmacro %}

{#- Not enforced on Redshift: JSON_PARSE keeps one value per key and no function lists a SUPER
    object's keys with their repeats, so a repeat cannot be seen after the parse. Unproven
    which value JSON_PARSE keeps (see docs/event-contract.md). -#}
{% macro redshift__has_repeated_keys(value) -%}
    false
{%- endmacro %}

{#- A landed record's size in bytes, for the contract's one maximum (too_large). DuckDB keeps
    every record's whole text; Redshift keeps the text only within the limit and the size of
    every record beside it (kinesis_data_bytes: macros/landing/stream_landing.sql), null only on
    rows landed before the column existed, whose text was then whole or cut at 65,535. -#}
{% macro landed_record_bytes() -%}
    {{ return(adapter.dispatch('landed_record_bytes', 'accfb')()) }}
{%- endmacro %}

{% macro duckdb__landed_record_bytes() -%}
    strlen(kinesis_data)
{%- endmacro %}

{% macro redshift__landed_record_bytes() -%}
    coalesce(kinesis_data_bytes, octet_length(kinesis_data))
{%- endmacro %}

{#- A text's size in bytes. -#}
{% macro record_bytes(text) -%}
    {{ return(adapter.dispatch('record_bytes', 'accfb')(text)) }}
{%- endmacro %}

{% macro duckdb__record_bytes(text) -%}
    strlen({{ text }})
{%- endmacro %}

{% macro redshift__record_bytes(text) -%}
    octet_length({{ text }})
{%- endmacro %}

{#- A timestamp column as a UTC timestamp without zone, to compare with to_utc_timestamp's. -#}
{% macro utc_timestamp(column) -%}
    {{ return(adapter.dispatch('utc_timestamp', 'accfb')(column)) }}
{%- endmacro %}

{% macro duckdb__utc_timestamp(column) -%}
    timezone('UTC', {{ column }})
{%- endmacro %}

{% macro redshift__utc_timestamp(column) -%}
    convert_timezone('UTC', {{ column }})::timestamp
{%- endmacro %}

{#- to_utc_timestamp that yields null instead of failing, for checks that run on every record. -#}
{% macro utc_timestamp_of_text(text, pattern) -%}
    {{ return(adapter.dispatch('utc_timestamp_of_text', 'accfb')(text, pattern)) }}
{%- endmacro %}

{% macro duckdb__utc_timestamp_of_text(text, pattern) -%}
    timezone('UTC', try_cast(upper({{ text }}) as timestamptz))
{%- endmacro %}

{#- Redshift has no try-cast: the cast runs only on text the contract's pattern accepts. -#}
{% macro redshift__utc_timestamp_of_text(text, pattern) -%}
    case when {{ text }} ~ {{ sql_literal(pattern) }}
        then {{ redshift__to_utc_timestamp('upper(' ~ text ~ ')') }} end
{%- endmacro %}


{#- Typed access to a field of a validated record (staging models read payloads with these). -#}
{% macro json_field(column, path) -%}
    {{ return(adapter.dispatch('json_field', 'accfb')(column, path)) }}
{%- endmacro %}

{% macro duckdb__json_field(column, path) -%}
    ({{ column }} ->> '$.{{ path }}')
{%- endmacro %}

{#- varchar(65535), not a bare varchar (VARCHAR(256) on Redshift, which would cut a name or an
    email and so change its hash between warehouses). -#}
{% macro redshift__json_field(column, path) -%}
    ({{ column }}.{{ path }})::varchar(65535)
{%- endmacro %}

{#- A payload field as a typed value, or null when it is not one: a safe cast on each warehouse,
    so no record can fail a staging model even if it slipped past the contract. The contract
    (which quarantines with a reason) rejects every such value first; this is the last guard.
    Types: bigint, decimal(18, 3), boolean, date. -#}
{% macro json_typed(column, path, type) -%}
    {{ return(adapter.dispatch('json_typed', 'accfb')(column, path, type)) }}
{%- endmacro %}

{% macro duckdb__json_typed(column, path, type) -%}
    try_cast(({{ column }} ->> '$.{{ path }}') as {{ type }})
{%- endmacro %}

{#- Redshift has no try-cast; SUPER knows each value's type, so a number is cast from the number
    (never through text) and only when it is one. -#}
{% macro redshift__json_typed(column, path, type) -%}
    {%- set v = column ~ '.' ~ path -%}
    {%- if type == 'bigint' -%}
        case when is_integer({{ v }}) or is_bigint({{ v }}) then ({{ v }})::bigint end
    {%- elif type.startswith('decimal') -%}
        case when is_integer({{ v }}) or is_bigint({{ v }}) or is_decimal({{ v }}) or is_float({{ v }})
            then ({{ v }})::{{ type }} end
    {%- elif type == 'boolean' -%}
        case when is_boolean({{ v }}) then ({{ v }})::boolean end
    {%- elif type == 'date' -%}
        case when is_varchar({{ v }}) and ({{ v }})::varchar(65535) ~ {{ sql_literal(contract_checks().formats['date']) }}
            then cast(({{ v }})::varchar(65535) as date) end
    {%- else -%}
        {{ exceptions.raise_compiler_error("json_typed: no safe cast to " ~ type) }}
    {%- endif -%}
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

{#- A contract date-time's text as a UTC timestamp. upper(): RFC 3339 allows a lower-case t and
    z, which the warehouses' casts refuse (DuckDB's does; Redshift's is unproven). -#}
{% macro json_timestamp(text) -%}
    {{ to_utc_timestamp('upper(' ~ text ~ ')') }}
{%- endmacro %}

{#- A picked field cast to its column's type, never failing: DuckDB try-casts the extracted
    text; Redshift casts from SUPER only when the value is of that type (json_typed). -#}
{% macro json_pick_typed(column, path, paths, type) -%}
    {{ return(adapter.dispatch('json_pick_typed', 'accfb')(column, path, paths, type)) }}
{%- endmacro %}

{% macro duckdb__json_pick_typed(column, path, paths, type) -%}
    try_cast({{ json_pick(column, path, paths) }} as {{ type }})
{%- endmacro %}

{% macro default__json_pick_typed(column, path, paths, type) -%}
    {{ json_typed(column, path, type) }}
{%- endmacro %}

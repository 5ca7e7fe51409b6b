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

{#- DuckDB reads the contract's paths out of the record text in two passes, one for the JSON types
    and one for the values as text, and keeps neither as JSON (an extracted JSON value is text
    that every json_type or ->> parses again). Each pass looks up only the paths of the record's
    own event type (the envelope, the objects and that type's fields): a lookup costs about the
    same whether the path is there or not, and the contract has 49. `contract_types` and
    `contract_texts` then hold every path at its place in contract_checks().paths, null where the
    type has none. A valid record is an object exactly when its first character past JSON's
    whitespace is "{", which needs no parse. -#}
{% macro duckdb__parsed_records(landed) -%}
    {%- set contract = contract_checks() -%}
    {%- set all_aliases = contract.paths | map(attribute='alias') | list -%}
    {%- set envelope = [] -%}
    {%- for check in contract.routing %}{% if check.alias not in envelope %}{% do envelope.append(check.alias) %}{% endif %}{% endfor -%}
    {%- for o in contract.objects %}{% if o.alias is not none and o.alias not in envelope %}{% do envelope.append(o.alias) %}{% endif %}{% endfor -%}
    {%- set per_type = {} -%}
    {%- for schema in contract.per_type -%}
        {%- set aliases = per_type.setdefault(schema.event_type, envelope | list) -%}
        {%- for check in schema.checks %}{% if check.alias not in aliases %}{% do aliases.append(check.alias) %}{% endif %}{% endfor -%}
    {%- endfor %}
    {%- set groups = per_type.items() | list + [(none, envelope)] %}
    select
        looked_up.* exclude (type_list, text_list),
        {%- for column, list in [('contract_types', 'type_list'), ('contract_texts', 'text_list')] %}
        case event_type_text
            {%- for event_type, aliases in groups %}
            {{ "when " ~ sql_literal(event_type) ~ " then" if event_type is not none else "else" }} [
                {%- for alias in all_aliases -%}
                {{ list ~ '[' ~ (aliases.index(alias) + 1) ~ ']' if alias in aliases else 'null' }}{{ ", " if not loop.last }}
                {%- endfor -%}
            ]
            {%- endfor %}
        end as {{ column }},
        {%- endfor %}
        json_keys(record, [
            {%- for o in contract.objects %}'${{ "." ~ o.path if o.path }}'{{ ", " if not loop.last }}{% endfor -%}
        ]) as contract_object_keys
    from (
        select
            with_record.*,
            {%- for function, list in [('json_type', 'type_list'), ('json_extract_string', 'text_list')] %}
            case event_type_text
                {%- for event_type, aliases in groups %}
                {{ "when " ~ sql_literal(event_type) ~ " then" if event_type is not none else "else" }} {{ function }}(record, [
                    {%- for alias in aliases %}'{{ contract.paths[all_aliases.index(alias)].json_path }}'{{ ", " if not loop.last }}{% endfor -%}
                ])
                {%- endfor %}
            end as {{ list }},
            {%- endfor %}
            record is not null as is_json,
            coalesce(
                record is not null and ltrim(kinesis_data, ' ' || chr(9) || chr(10) || chr(13))[1] = '{',
                false
            ) as is_object
        from (
            select
                {{ landed }}.*,
                {#- Text, not the JSON type: a cast to JSON costs ~4 times json_valid's parse, and
                    DuckDB's JSON functions read the text alike. #}
                case when json_valid(kinesis_data) then kinesis_data end as record,
                case when json_valid(kinesis_data) then json_extract_string(kinesis_data, '$.event_type') end
                    as event_type_text
            from {{ landed }}
        ) as with_record
    ) as looked_up
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

{#- DuckDB: the value's text (a string unquoted, a number or an object as written). -#}
{% macro duckdb__contract_value(path, position) -%}
    contract_texts[{{ position }}]
{%- endmacro %}

{% macro redshift__contract_value(path, position) -%}
    record.{{ path }}
{%- endmacro %}

{#- Whether a contract value's JSON kind is one of `kinds` (missing, null, string, integer,
    number, overflow, boolean, object, array). `position`: its place in contract_checks().paths.
    Redshift reads the kind column contract_kinds() made; DuckDB decides it in place from the
    type parsed_records read, so a record pays only for the paths its own type checks (49 kind
    columns for every record cost a peak minute ~3 s). -#}
{% macro json_kind_in(alias, position, kinds) -%}
    {{ return(adapter.dispatch('json_kind_in', 'accfb')(alias, position, kinds)) }}
{%- endmacro %}

{% macro default__json_kind_in(alias, position, kinds) -%}
    k_{{ alias }} in ({% for k in kinds %}'{{ k }}'{{ ", " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro duckdb__json_kind_in(alias, position, kinds) -%}
    {%- set t = 'contract_types[' ~ position ~ ']' -%}
    {#- Past HUGEINT an integer parses as DOUBLE; its text still says integer, as Python's
        parser does. An overflowing number (1e400) is no JSON number Python can hold. -#}
    {%- set integral_text = "regexp_matches(" ~ alias ~ ", '^-?[0-9]+$')" -%}
    {%- set infinite = "coalesce(isinf(try_cast(" ~ alias ~ " as double)), false)" -%}
    {%- set tests = {
        'missing': t ~ " is null",
        'null': t ~ " = 'NULL'",
        'string': t ~ " = 'VARCHAR'",
        'integer': t ~ " in ('BIGINT', 'UBIGINT', 'HUGEINT') or (" ~ t ~ " = 'DOUBLE' and " ~ integral_text ~ ")",
        'number': "(" ~ t ~ " = 'DOUBLE' and not " ~ integral_text ~ " and not " ~ infinite ~ ")",
        'overflow': "(" ~ t ~ " = 'DOUBLE' and not " ~ integral_text ~ " and " ~ infinite ~ ")",
        'boolean': t ~ " = 'BOOLEAN'",
        'object': t ~ " = 'OBJECT'",
        'array': t ~ " = 'ARRAY'",
    } -%}
    coalesce({% for k in kinds %}({{ tests[k] }}){{ " or " if not loop.last }}{% endfor %}, false)
{%- endmacro %}

{#- The kind columns default__json_kind_in reads; DuckDB needs none. -#}
{% macro json_kind_columns() -%}
    {{ return(adapter.dispatch('json_kind_columns', 'accfb')()) }}
{%- endmacro %}

{% macro default__json_kind_columns() -%}
    {%- for p in contract_checks().paths %}
    {{ redshift__json_kind(p.alias) }} as k_{{ p.alias }},
    {%- endfor %}
{%- endmacro %}

{% macro duckdb__json_kind_columns() -%}
{%- endmacro %}

{#- Redshift: SUPER knows each value's type. -#}
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

{#- DuckDB: contract values are text already (duckdb__parsed_records). -#}
{% macro duckdb__json_text(value) -%}
    {{ value }}
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
    try_cast({{ value }} as double)
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
{#- `position`: the object's place in contract_checks().objects. -#}
{% macro has_repeated_keys(value, position) -%}
    {{ return(adapter.dispatch('has_repeated_keys', 'accfb')(value, position)) }}
{%- endmacro %}

{#- The keys parsed_records listed for the object, repeats included. -#}
{% macro duckdb__has_repeated_keys(value, position) -%}
    (len(contract_object_keys[{{ position }}]) <> len(list_distinct(contract_object_keys[{{ position }}])))
{%- endmacro %}

{#- Not enforced on Redshift: JSON_PARSE keeps one value per key and no function lists a SUPER
    object's keys with their repeats, so a repeat cannot be seen after the parse. Unproven
    which value JSON_PARSE keeps (see docs/event-contract.md). -#}
{% macro redshift__has_repeated_keys(value, position) -%}
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

{#- A field's value as text that two deliveries of an event can be compared by, whatever its
    JSON type. DuckDB's extracted text serves. On Redshift a cast of a SUPER number or boolean to
    VARCHAR is NULL, so a changed amount would compare equal to any other: JSON_SERIALIZE
    gives every value's JSON text (a string quoted, null as `null`, a missing field NULL). -#}
{% macro json_compared(column, path) -%}
    {{ return(adapter.dispatch('json_compared', 'accfb')(column, path)) }}
{%- endmacro %}

{% macro default__json_compared(column, path) -%}
    {{ json_field(column, path) }}
{%- endmacro %}

{% macro redshift__json_compared(column, path) -%}
    json_serialize({{ column }}.{{ path }})
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

{#- A landed record as staging reads it: on DuckDB its text (JSON functions read text alike),
    on Redshift the SUPER the streaming view parsed. For a record that keeps the contract
    (stg_stream__events, conflicting_redeliveries), so valid JSON either way. -#}
{% macro landed_record(landed) -%}
    {{ return(adapter.dispatch('landed_record', 'accfb')(landed)) }}
{%- endmacro %}

{% macro duckdb__landed_record(landed) -%}
    {{ landed }}.kinesis_data
{%- endmacro %}

{% macro redshift__landed_record(landed) -%}
    {{ landed }}.record
{%- endmacro %}

{#- Whether two landed records of one event may differ in a field: on DuckDB, unless their
    texts are the same bytes (a retry's are), which spares parsing both; on Redshift, SUPER
    values are compared field by field only. -#}
{% macro records_may_differ(a, b) -%}
    {{ return(adapter.dispatch('records_may_differ', 'accfb')(a, b)) }}
{%- endmacro %}

{% macro duckdb__records_may_differ(a, b) -%}
    {{ a }} <> {{ b }}
{%- endmacro %}

{% macro default__records_may_differ(a, b) -%}
    true
{%- endmacro %}

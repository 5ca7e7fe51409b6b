{#-
    The first contract violation of a landed record, as a machine-readable reason
    ("missing_field:payload.amount_cents"), or null for a record that keeps the contract.
    Expects the columns made by contract_fields(): one value and one kind per contract path.
    The checks and their order come from the JSON Schemas (see ingestion/contract/sql.py).
-#}

{% macro contract_fields() -%}
    {%- for p in contract_checks().paths %}
    {{ contract_value(p.path, loop.index) }} as {{ p.alias }},
    {%- endfor %}
{%- endmacro %}

{% macro contract_kinds() -%}
    {{ json_kind_columns() }}
    {{ json_text('f_event_type') }} as routed_event_type,
    {#- An integer too large for the column routes to no version (-1): unsupported, as in Python. #}
    case when {{ _kind_in('f_schema_version', ['integer']) }} then
        case when {{ json_number('f_schema_version') }} between 0 and 1000000
            then {{ json_number('f_schema_version') }}::integer else -1 end
    end as routed_schema_version,
{%- endmacro %}

{% macro _kind_in(alias, kinds) -%}
    {%- set aliases = contract_checks().paths | map(attribute='alias') | list -%}
    {{ json_kind_in(alias, aliases.index(alias) + 1, kinds) }}
{%- endmacro %}

{% macro _check_fails(check) -%}
    {%- set f = check.alias -%}
    {%- if check.rule == 'missing' -%}
        {{ _kind_in(f, ['missing']) }}
    {%- elif check.rule == 'type' and check.arg == 'number' -%}
        not {{ _kind_in(f, ['missing', 'integer', 'number']) }}
    {%- elif check.rule == 'type' -%}
        not {{ _kind_in(f, ['missing', check.arg]) }}
    {%- elif check.rule == 'format' -%}
        {{ _kind_in(f, ['string']) }} and not {{ matches_format(json_text(f), check.arg, check.format) }}
    {%- elif check.rule == 'enum' and check.arg[0] is string -%}
        {{ _kind_in(f, ['string']) }} and {{ json_text(f) }} not in ({% for v in check.arg %}{{ sql_literal(v) }}{{ ", " if not loop.last }}{% endfor %})
    {%- elif check.rule == 'enum' -%}
        {{ _kind_in(f, ['integer', 'number']) }} and {{ json_number(f) }} not in ({{ check.arg | join(', ') }})
    {%- elif check.rule == 'exclusiveMinimum' -%}
        {{ _kind_in(f, ['integer', 'number']) }} and {{ json_number(f) }} <= {{ check.arg }}
    {%- elif check.rule == 'minimum' -%}
        {{ _kind_in(f, ['integer', 'number']) }} and {{ json_number(f) }} < {{ check.arg }}
    {%- elif check.rule == 'maximum' -%}
        {{ _kind_in(f, ['integer', 'number']) }} and {{ json_number(f) }} > {{ check.arg }}
    {%- elif check.rule == 'window' -%}
        {%- set at = utc_timestamp_of_text(json_text(f), check.arg.pattern) -%}
        {{ _kind_in(f, ['string']) }} and ({{ at }} < cast('{{ check.arg.floor }}' as timestamp)
            or {{ at }} > {{ utc_timestamp('approximate_arrival_timestamp') }} + interval '{{ check.arg.future_seconds }} seconds')
    {%- elif check.rule == 'minLength' -%}
        {{ _kind_in(f, ['string']) }} and length({{ json_text(f) }}) < {{ check.arg }}
    {%- elif check.rule == 'pattern' -%}
        {{ _kind_in(f, ['string']) }} and not {{ matches_format(json_text(f), check.arg, none) }}
    {%- elif check.rule == 'known_event_type' -%}
        routed_event_type not in ({% for v in check.arg %}{{ sql_literal(v) }}{{ ", " if not loop.last }}{% endfor %})
    {%- elif check.rule == 'known_version' -%}
        not ({% for event_type, versions in check.arg.items() %}(routed_event_type = {{ sql_literal(event_type) }} and routed_schema_version in ({{ versions | join(', ') }})){{ " or " if not loop.last }}{% endfor %})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown contract rule " ~ check.rule) }}
    {%- endif -%}
{%- endmacro %}

{% macro _reason(check) -%}
    {%- set codes = {
        'missing': 'missing_field', 'type': 'wrong_type', 'format': 'invalid_format',
        'enum': 'invalid_value', 'exclusiveMinimum': 'out_of_range', 'minimum': 'out_of_range',
        'maximum': 'out_of_range', 'minLength': 'out_of_range', 'window': 'out_of_range',
        'pattern': 'invalid_format',
        'known_event_type': 'unknown_event_type', 'known_version': 'unsupported_schema_version',
    } -%}
    {{ codes[check.rule] }}:{{ check.path }}
{%- endmacro %}

{% macro contract_violation() -%}
    {%- set contract = contract_checks() -%}
    case
        when {{ landed_record_bytes() }} > {{ contract.max_record_bytes }} then 'too_large'
        {#- U+FFFD: the landings put it where a byte was not UTF-8 (ingestion/contract/validation.py). #}
        when {{ record_bytes("replace(kinesis_data, '�', '')") }} <> {{ record_bytes('kinesis_data') }} then 'invalid_json'
        when not is_json then 'invalid_json'
        when not is_object then 'not_an_object'
        {%- for o in contract.objects %}
        {%- if o.alias is none %}
        when {{ has_repeated_keys('record', loop.index) }} then 'duplicate_key'
        {%- else %}
        when {{ _kind_in(o.alias, ['object']) }} and {{ has_repeated_keys(o.alias, loop.index) }} then 'duplicate_key:{{ o.path }}'
        {%- endif %}
        {%- endfor %}
        {%- for check in contract.routing %}
        when {{ _check_fails(check) }} then '{{ _reason(check) }}'
        {%- endfor %}
        {#- Nested by event type: a record meets only its own type's checks, not every type's
            (a flat list made each valid record pass ~500 conditions; the result is the same,
            a record having one type). #}
        else case
        {%- for schema in contract.per_type %}
            when routed_event_type = '{{ schema.event_type }}' and routed_schema_version = {{ schema.schema_version }} then case
            {%- for check in schema.checks %}
                when {{ _check_fails(check) }} then '{{ _reason(check) }}'
            {%- endfor %}
            end
        {%- endfor %}
        end
    end
{%- endmacro %}

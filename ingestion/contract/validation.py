"""Validate one event against the contract and say exactly what is wrong with it, in order.

The schemas use a deliberately small keyword set (see SCHEMA_DIR), so each one is compiled once
into a flat list of field rules and walked by hand. That is several times faster than running
jsonschema per record, and it makes the violation order (part of the API: the SQL validator
reports the first violation and a test compares them) explicit instead of an accident of
jsonschema's error iteration. tests/contract/test_contract.py proves the two agree.
"""

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeGuard

from ingestion.contract.limits import (
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_FUTURE_SKEW,
    MAX_RECORD_BYTES,
    OCCURRED_AT_FIELD,
    OCCURRED_AT_FLOOR,
    SQL_PATTERNS,
    UUID_PATTERN,
)
from ingestion.contract.registry import KNOWN_VERSIONS, load_schemas

INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
UNSUPPORTED_SCHEMA_VERSION = "unsupported_schema_version"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
OUT_OF_RANGE = "out_of_range"
INVALID_VALUE = "invalid_value"
INVALID_FORMAT = "invalid_format"
TOO_LARGE = "too_large"
REPLACEMENT_CHARACTER = "\ufffd"
DUPLICATE_KEY = "duplicate_key"


@dataclass(frozen=True)
class Violation:
    """One broken rule: what quarantine records as the reason a record was rejected."""

    code: str
    field: str | None
    message: str

    @property
    def reason(self) -> str:
        """Stable machine-readable reason, e.g. ``missing_field:payload.amount_cents``."""
        return self.code if self.field is None else f"{self.code}:{self.field}"


class ContractViolation(ValueError):
    """Raised at the edge (producers, webhooks) so a bad event never reaches the stream."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        details = "; ".join(f"{v.reason} ({v.message})" for v in violations)
        count = len(violations)
        noun = "violation" if count == 1 else "violations"
        super().__init__(f"event violates the contract ({count} {noun}): {details}")


# Formats: one pattern each, shared with the SQL validator (limits.py), matched on the whole
# string (fullmatch: a trailing newline, which Python's `$` tolerates, is rejected). The
# patterns decide calendar validity themselves, so both warehouses can apply them as they are.
_UUID = re.compile(UUID_PATTERN)
_DATE_TIME = re.compile(DATE_TIME_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_TIMESTAMP_PARTS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.]([0-9]+))?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)


def _is_uuid(value: str) -> bool:
    return _UUID.fullmatch(value) is not None


def _is_date_time(value: str) -> bool:
    return _DATE_TIME.fullmatch(value) is not None


def _is_date(value: str) -> bool:
    return _DATE.fullmatch(value) is not None


def parse_timestamp(value: str) -> datetime:
    """The instant of a contract date-time, in UTC, to the microsecond (further digits are
    dropped, as the warehouses' casts do). Only for values that passed the format check."""
    match = _TIMESTAMP_PARTS.fullmatch(value)
    if match is None:
        raise ValueError(f"not a contract date-time: {value!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micros = int((match.group(7) or "").ljust(6, "0")[:6])
    instant = datetime(year, month, day, hour, minute, second, micros, tzinfo=UTC)
    if match.group(8):
        offset = timedelta(hours=int(match.group(9)), minutes=int(match.group(10)))
        instant -= offset if match.group(8) == "+" else -offset
    return instant


_FORMATS: Mapping[str, tuple[Callable[[str], bool], str]] = {
    "uuid": (_is_uuid, "a UUID (8-4-4-4-12 hex digits)"),
    "date-time": (_is_date_time, "an RFC 3339 date-time with an offset (Z or +hh:mm)"),
    "date": (_is_date, "a calendar date YYYY-MM-DD"),
}


def _json_type(value: object) -> str:
    """The JSON name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _shown(value: object) -> str:
    """The offending value as JSON (repr for what JSON cannot show), cut short for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):  # non-string keys, circular references
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_integer(value: object) -> TypeGuard[int]:
    # bool is an int subclass in Python but never a JSON integer. A float such as 5.0 is also
    # rejected although JSON Schema would accept it: producers send integer cents and counts, a
    # fraction part means a producer bug, and the SQL side casts strictly.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    # NaN and infinities are Python floats but not JSON numbers: an event holding one could not
    # be serialized for the stream, so check_event must reject it at the edge.
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, int) and not isinstance(value, bool)


_TYPES: Mapping[str, tuple[Callable[[object], bool], str]] = {
    "string": (lambda value: isinstance(value, str), "a string"),
    "integer": (_is_integer, "an integer"),
    "number": (_is_number, "a number"),
    "boolean": (lambda value: isinstance(value, bool), "a boolean"),
    "object": (lambda value: isinstance(value, dict), "an object"),
}


_NOT_ALLOWED = {
    UNKNOWN_EVENT_TYPE: "is not a known event type",
    UNSUPPORTED_SCHEMA_VERSION: "is not a supported version of this event type",
}


@dataclass(frozen=True, slots=True)
class _Rule:
    """One property compiled from a schema: the checks in the order violations are reported."""

    name: str
    path: str
    required: bool
    type_ok: Callable[[object], bool]
    type_text: str
    format_ok: Callable[[str], bool] | None
    format_text: str
    allowed: tuple[object, ...] | None
    allowed_code: str
    bounds: tuple[tuple[str, float], ...]
    children: "tuple[_Rule, ...]"
    # JSON Schema's `pattern`, matched on the whole string (a trailing newline fails too).
    pattern: re.Pattern[str] | None = None
    # After a violation here nothing further can be checked meaningfully (an unsupported
    # schema_version has no payload schema to check against).
    stops: bool = False
    # occurred_at: within [OCCURRED_AT_FLOOR, arrival + MAX_FUTURE_SKEW] (limits.py).
    window: bool = False


# Every keyword the schemas may use. A schema using another one fails loudly at import rather
# than having that rule silently skipped here while jsonschema and SQL enforce it.
_SUPPORTED_KEYWORDS = frozenset(
    {
        "$schema", "$id", "title", "description", "type", "properties", "required", "enum",
        "const", "minimum", "exclusiveMinimum", "maximum", "minLength", "format", "pattern",
    }
)  # fmt: skip


def _compile(schema: Mapping[str, Any], prefix: str = "") -> tuple[_Rule, ...]:
    required = set(schema.get("required", ()))
    rules = []
    for name, spec in schema.get("properties", {}).items():
        path = prefix + name
        unsupported = set(spec) - _SUPPORTED_KEYWORDS
        # A pattern only when the warehouses have the same one (limits.SQL_PATTERNS).
        if spec.get("pattern", IDENTIFIER_PATTERN) not in SQL_PATTERNS:
            unsupported.add("pattern")
        if unsupported or spec.get("format", "uuid") not in _FORMATS:
            raise ValueError(f"{path}: unsupported schema keyword or format {sorted(unsupported)}")
        type_ok, type_text = _TYPES[spec["type"]]
        format_ok, format_text = _FORMATS.get(spec.get("format", ""), (None, ""))
        allowed: tuple[object, ...] | None = None
        if "const" in spec:
            allowed = (spec["const"],)
        elif "enum" in spec:
            allowed = tuple(spec["enum"])
        bounds = tuple(
            (keyword, spec[keyword])
            for keyword in ("minimum", "exclusiveMinimum", "maximum", "minLength")
            if keyword in spec
        )
        rules.append(
            _Rule(
                name=name,
                path=path,
                required=name in required,
                type_ok=type_ok,
                type_text=type_text,
                format_ok=format_ok,
                format_text=format_text,
                allowed=allowed,
                allowed_code=INVALID_VALUE,
                bounds=bounds,
                children=_compile(spec, path + ".") if spec["type"] == "object" else (),
                window=path == OCCURRED_AT_FIELD,
                pattern=re.compile(spec["pattern"]) if "pattern" in spec else None,
            )
        )
    return tuple(rules)


def _out_of_range(rule: _Rule, value: Any) -> Violation | None:
    for keyword, limit in rule.bounds:
        if keyword == "minimum" and value < limit:
            expected = f"at least {limit}"
        elif keyword == "exclusiveMinimum" and value <= limit:
            expected = f"greater than {limit}"
        elif keyword == "maximum" and value > limit:
            expected = f"at most {limit}"
        elif keyword == "minLength" and len(value) < limit:
            expected = f"at least {limit} character{'s' if limit != 1 else ''} long"
        else:
            continue
        return Violation(
            OUT_OF_RANGE, rule.path, f"{rule.path} must be {expected}, found {_shown(value)}"
        )
    return None


def _outside_window(rule: _Rule, value: str, arrived_at: datetime) -> Violation | None:
    instant = parse_timestamp(value)
    latest = arrived_at + MAX_FUTURE_SKEW
    if OCCURRED_AT_FLOOR <= instant <= latest:
        return None
    return Violation(
        OUT_OF_RANGE,
        rule.path,
        f"{rule.path} must be from {OCCURRED_AT_FLOOR:%Y-%m-%d} to {MAX_FUTURE_SKEW} after "
        f"arrival ({latest.isoformat()}), found {_shown(value)}",
    )


def _check(
    obj: Mapping[str, Any], rules: tuple[_Rule, ...], found: list[Violation], arrived_at: datetime
) -> bool:
    """Append violations for obj's fields in rule order; False when a stopping rule failed."""
    for rule in rules:
        if rule.name not in obj:
            if rule.required:
                found.append(
                    Violation(MISSING_FIELD, rule.path, f"{rule.path} is required but missing")
                )
            continue
        value = obj[rule.name]
        if not rule.type_ok(value):
            found.append(
                Violation(
                    WRONG_TYPE,
                    rule.path,
                    f"{rule.path} must be {rule.type_text}, "
                    f"found {_json_type(value)} {_shown(value)}",
                )
            )
            continue
        if rule.format_ok is not None and not rule.format_ok(value):
            found.append(
                Violation(
                    INVALID_FORMAT,
                    rule.path,
                    f"{rule.path} must be {rule.format_text}, found {_shown(value)}",
                )
            )
            continue
        if rule.allowed is not None and value not in rule.allowed:
            choices = ", ".join(_shown(choice) for choice in rule.allowed)
            expected = f"one of {choices}" if len(rule.allowed) > 1 else choices
            what = _NOT_ALLOWED.get(rule.allowed_code, "is not allowed")
            found.append(
                Violation(
                    rule.allowed_code,
                    rule.path,
                    f"{rule.path} {_shown(value)} {what}: expected {expected}",
                )
            )
            if rule.stops:
                return False
            continue
        if rule.bounds:
            violation = _out_of_range(rule, value)
            if violation is not None:
                found.append(violation)
                continue
        if rule.pattern is not None and not rule.pattern.fullmatch(value):
            found.append(
                Violation(
                    INVALID_FORMAT,
                    rule.path,
                    f"{rule.path} must hold no control character, found {_shown(value)}",
                )
            )
            continue
        if rule.window:
            violation = _outside_window(rule, value, arrived_at)
            if violation is not None:
                found.append(violation)
                continue
        if rule.children and not _check(value, rule.children, found, arrived_at):
            return False
    return True


def _envelope_only(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's envelope with a bare payload object: what can be checked without a payload
    schema (unknown event_type or schema_version)."""
    properties = dict(schema["properties"])
    properties["payload"] = {"type": "object"}
    return {"properties": properties, "required": schema["required"]}


def _fallback_rules() -> Mapping[str | None, tuple[_Rule, ...]]:
    """Envelope rules for events whose (event_type, schema_version) has no schema.

    Keyed by event_type for known types (source is checked against that type's source and
    schema_version against its known versions) and by None for anything else.
    """
    schemas = load_schemas()
    fallbacks: dict[str | None, tuple[_Rule, ...]] = {}
    for event_type, versions in KNOWN_VERSIONS.items():
        rules = list(_compile(_envelope_only(schemas[event_type, max(versions)])))
        for index, rule in enumerate(rules):
            if rule.name == "schema_version":
                rules[index] = replace(
                    rule,
                    allowed=tuple(sorted(versions)),
                    allowed_code=UNSUPPORTED_SCHEMA_VERSION,
                    stops=True,
                )
        fallbacks[event_type] = tuple(rules)

    any_schema = schemas[min(schemas)]
    envelope = _envelope_only(any_schema)
    properties = envelope["properties"]
    properties["event_type"] = {"type": "string", "enum": sorted(KNOWN_VERSIONS)}
    properties["schema_version"] = {"type": "integer", "minimum": 1}
    properties["source"] = {
        "type": "string",
        "enum": sorted({schema["properties"]["source"]["const"] for schema in schemas.values()}),
    }
    fallbacks[None] = tuple(
        replace(rule, allowed_code=UNKNOWN_EVENT_TYPE) if rule.name == "event_type" else rule
        for rule in _compile(envelope)
    )
    return fallbacks


def _object_paths(schemas: Mapping[tuple[str, int], Mapping[str, Any]]) -> tuple[str, ...]:
    """The event itself ("") and every object the contract reads into, in first-seen order."""
    paths = [""]

    def walk(schema: Mapping[str, Any], prefix: str) -> None:
        for name, spec in schema.get("properties", {}).items():
            if spec["type"] == "object":
                if prefix + name not in paths:
                    paths.append(prefix + name)
                walk(spec, f"{prefix}{name}.")

    for key in sorted(schemas):
        walk(schemas[key], "")
    return tuple(paths)


_RULES: Mapping[tuple[str, int], tuple[_Rule, ...]] = {
    key: _compile(schema) for key, schema in load_schemas().items()
}
_FALLBACK_RULES = _fallback_rules()
# Where a repeated key is looked for: the objects the contract reads (which value of a repeated
# key wins differs between parsers, so such a record cannot be read the same way everywhere).
# Objects inside unknown extra fields are raw data nobody reads, kept as sent.
OBJECT_PATHS = _object_paths(load_schemas())


class _RepeatedKeys(dict[str, Any]):
    """A parsed JSON object that repeated at least one key (validate_record's parse marks it)."""


def _keep_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _RepeatedKeys(obj)


def _repeated_key(event: Mapping[str, Any]) -> Violation | None:
    for path in OBJECT_PATHS:
        obj: object = event
        for name in path.split(".") if path else ():
            obj = obj.get(name) if isinstance(obj, dict) else None
        if isinstance(obj, _RepeatedKeys):
            where = path or "the event"
            return Violation(DUPLICATE_KEY, path or None, f"{where} repeats a key")
    return None


def validate_event(event: object, *, arrived_at: datetime | None = None) -> list[Violation]:
    """Every contract violation of an already-parsed event, in reporting order; [] means valid.

    Order: a repeated key in an object the contract reads (alone: nothing else is checked),
    then the envelope fields in contract order, then the payload fields in schema order,
    depth first. An unknown event_type (or one that is missing or not a string) ends the check
    after the envelope; an unsupported schema_version ends it there. At most one violation is
    reported per field: missing, else wrong type, else format / allowed value / range / window.
    ``arrived_at`` is when the record reached the stream (occurred_at may be at most
    MAX_FUTURE_SKEW after it); None means now, as at a producer about to send.
    """
    if not isinstance(event, dict):
        return [
            Violation(
                NOT_AN_OBJECT,
                None,
                f"an event must be a JSON object, found {_json_type(event)} {_shown(event)}",
            )
        ]
    repeated = _repeated_key(event)
    if repeated is not None:
        return [repeated]
    event_type = event.get("event_type")
    version = event.get("schema_version")
    rules = None
    if isinstance(event_type, str) and _is_integer(version):
        rules = _RULES.get((event_type, version))
    if rules is None:
        known_type = (
            event_type if isinstance(event_type, str) and event_type in KNOWN_VERSIONS else None
        )
        rules = _FALLBACK_RULES[known_type]
    found: list[Violation] = []
    _check(event, rules, found, arrived_at or datetime.now(UTC))
    return found


def too_large(size: int) -> Violation | None:
    """The `too_large` violation for a record of ``size`` bytes, or None when it fits."""
    if size <= MAX_RECORD_BYTES:
        return None
    return Violation(
        TOO_LARGE, None, f"a record may be at most {MAX_RECORD_BYTES} bytes, found {size}"
    )


def repeated_key(raw: bytes) -> Violation | None:
    """The `duplicate_key` violation of a record whose JSON repeats a key in an object the
    contract reads, else None (a record that is not JSON is left to the warehouse's check).

    Redshift cannot see a repeat once JSON_PARSE has kept one of the values, so each entry to
    the stream that Python controls (the producers' batcher, the webhook, the poller) refuses
    such a record before it is written; DuckDB and this validator quarantine one that arrives
    another way.
    """
    try:
        event = json.loads(raw, object_pairs_hook=_keep_repeats)
    except (ValueError, RecursionError):
        return None
    return _repeated_key(event) if isinstance(event, dict) else None


def validate_record(raw: bytes | str, *, arrived_at: datetime | None = None) -> list[Violation]:
    """Parse one stream record (UTF-8 JSON) and validate it; [] means valid.

    The size is checked first, on the bytes, so a record too large for the stream is refused
    the same way whatever it holds.
    """
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", errors="surrogatepass")
    oversize = too_large(len(data))
    if oversize is not None:
        return [oversize]
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if REPLACEMENT_CHARACTER in text:
            # The landings keep a record's text, putting U+FFFD where a byte was not UTF-8; so
            # the warehouse sees that text, and the character is refused wherever it is seen.
            raise ValueError("the record holds U+FFFD, the mark of bytes that were not UTF-8")
        event = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_bounded_int,
            object_pairs_hook=_keep_repeats,
        )
    except (ValueError, RecursionError) as error:
        # UnicodeDecodeError and JSONDecodeError are both ValueErrors; RecursionError is how
        # the json module reports absurd nesting.
        return [Violation(INVALID_JSON, None, f"a record must be UTF-8 JSON: {error}")]
    return validate_event(event, arrived_at=arrived_at)


# Integers of more digits than this are out of every range alike; stand-ins keep Python's int
# parser (which refuses more than 4,300 digits) from calling a warehouse-readable number invalid.
_MAX_INT_DIGITS = 400
_HUGE = int("1" + "0" * _MAX_INT_DIGITS)


def _bounded_int(text: str) -> int:
    if len(text) <= _MAX_INT_DIGITS:
        return int(text)
    return -_HUGE if text.startswith("-") else _HUGE


def _reject_constant(name: str) -> object:
    # NaN and Infinity are Python extensions, not JSON; other parsers downstream reject them.
    raise ValueError(f"{name} is not valid JSON")


def check_event(event: object) -> None:
    """Raise ContractViolation unless event satisfies the contract."""
    violations = validate_event(event)
    if violations:
        raise ContractViolation(violations)

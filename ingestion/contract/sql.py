"""Turn the contract's JSON Schemas into the ordered checks dbt's staging runs in SQL.

The schemas in ``ingestion/contract/schemas`` are the one definition of the contract. Producers
validate with them in Python; the warehouse cannot read them, so this module flattens them into
an ordered list of checks and writes it as a dbt macro (``macros/contract/contract_checks.sql``).
A test fails when the macro is out of date; ``accfb contract-sql`` rewrites it.

The order of the checks is the order of the Python validator's violations, so the reason the
warehouse records for a quarantined row is the first one a producer would have been told.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ingestion.config.settings import REPO_ROOT
from ingestion.contract.limits import (
    DATE_PATTERN,
    DATE_TIME_PATTERN,
    MAX_FUTURE_SKEW,
    MAX_RECORD_BYTES,
    OCCURRED_AT_FIELD,
    OCCURRED_AT_FLOOR,
    SQL_PATTERNS,
    UUID_PATTERN,
)
from ingestion.contract.validation import OBJECT_PATHS

MACRO_PATH = REPO_ROOT / "macros" / "contract" / "contract_checks.sql"

# Fields decided before the type-specific schema applies: they choose which schema that is.
_ROUTING_FIELDS = ("event_id", "event_type", "schema_version")

# The Python validator's patterns, anchored (SQL regex matching finds a match anywhere).
FORMAT_PATTERNS = {
    "uuid": f"^{UUID_PATTERN}$",
    "date-time": f"^({DATE_TIME_PATTERN})$",
    "date": f"^({DATE_PATTERN})$",
}

# occurred_at's window, as the SQL check reads it (validation._outside_window is the Python).
_WINDOW = {
    "floor": OCCURRED_AT_FLOOR.strftime("%Y-%m-%d %H:%M:%S"),
    "future_seconds": int(MAX_FUTURE_SKEW.total_seconds()),
    "pattern": FORMAT_PATTERNS["date-time"],
}


def alias(path: str) -> str:
    """SQL-safe column alias for a dotted JSON path."""
    return "f_" + re.sub(r"[^a-z0-9_]+", "__", path.lower())


def _field_checks(
    schema: Mapping[str, Any], prefix: str, skip: tuple[str, ...] = ()
) -> Iterator[dict[str, Any]]:
    required = set(schema.get("required", []))
    for name, prop in schema.get("properties", {}).items():
        if name in skip:
            continue
        path = f"{prefix}{name}"
        if name in required:
            yield {"path": path, "rule": "missing"}
        yield {"path": path, "rule": "type", "arg": prop["type"]}
        if "format" in prop:
            yield {
                "path": path,
                "rule": "format",
                "arg": FORMAT_PATTERNS[prop["format"]],
                "format": prop["format"],
            }
        if "const" in prop:
            yield {"path": path, "rule": "enum", "arg": [prop["const"]]}
        if "enum" in prop:
            yield {"path": path, "rule": "enum", "arg": list(prop["enum"])}
        for keyword in ("exclusiveMinimum", "minimum", "maximum", "minLength"):
            if keyword in prop:
                yield {"path": path, "rule": keyword, "arg": prop[keyword]}
        if "pattern" in prop:
            if prop["pattern"] not in SQL_PATTERNS:
                raise ValueError(
                    f"{path}: pattern {prop['pattern']!r} has no SQL form in limits.py"
                )
            yield {"path": path, "rule": "pattern", "arg": SQL_PATTERNS[prop["pattern"]]}
        if path == OCCURRED_AT_FIELD:
            yield {"path": path, "rule": "window", "arg": _WINDOW}
        if prop["type"] == "object" and "properties" in prop:
            yield from _field_checks(prop, f"{path}.")


def build_checks(schemas: Mapping[tuple[str, int], Mapping[str, Any]]) -> dict[str, Any]:
    """Flatten the schemas into routing checks, then per-(type, version) checks in order."""
    if not schemas:
        raise ValueError("no contract schemas found")
    any_schema = next(iter(schemas.values()))
    versions: dict[str, list[int]] = {}
    for event_type, version in sorted(schemas):
        versions.setdefault(event_type, []).append(version)
    routing: list[dict[str, Any]] = []
    envelope_props = any_schema["properties"]
    for name in _ROUTING_FIELDS:
        routing.append({"path": name, "rule": "missing"})
        routing.append({"path": name, "rule": "type", "arg": envelope_props[name]["type"]})
        if name == "event_id":
            routing.append(
                {"path": name, "rule": "format", "arg": FORMAT_PATTERNS["uuid"], "format": "uuid"}
            )
    routing.append({"path": "event_type", "rule": "known_event_type", "arg": sorted(versions)})
    routing.append({"path": "schema_version", "rule": "known_version", "arg": versions})
    per_type: list[dict[str, Any]] = [
        {
            "event_type": event_type,
            "schema_version": version,
            "checks": list(_field_checks(schema, "", skip=_ROUTING_FIELDS)),
        }
        for (event_type, version), schema in sorted(schemas.items())
    ]
    paths: list[str] = []
    every_check: list[dict[str, Any]] = routing + [c for t in per_type for c in t["checks"]]
    for check in every_check:
        check["alias"] = alias(check["path"])
        if check["path"] not in paths:
            paths.append(check["path"])
    return {
        "formats": FORMAT_PATTERNS,
        "max_record_bytes": MAX_RECORD_BYTES,
        # Objects checked for a repeated key, in the Python validator's order; "" is the event.
        "objects": [{"path": p, "alias": alias(p) if p else None} for p in OBJECT_PATHS],
        "paths": [{"path": p, "alias": alias(p), "json_path": "$." + p} for p in paths],
        "routing": routing,
        "per_type": per_type,
    }


def render_macro(schemas: Mapping[tuple[str, int], Mapping[str, Any]]) -> str:
    checks = json.dumps(build_checks(schemas), sort_keys=True, separators=(",", ":"))
    # dbt's Jinja reads the checks back with fromjson; only the quote needs escaping.
    escaped = checks.replace("\\", "\\\\").replace("'", "\\'")
    return (
        "{#- Generated by `accfb contract-sql` from ingestion/contract/schemas: do not edit. -#}\n"
        "{% macro contract_checks() %}\n"
        f"    {{{{ return(fromjson('{escaped}')) }}}}\n"
        "{% endmacro %}\n"
    )


def write_macro(
    schemas: Mapping[tuple[str, int], Mapping[str, Any]], path: Path = MACRO_PATH
) -> bool:
    """Write the macro; True when it changed."""
    text = render_macro(schemas)
    if path.exists() and path.read_text() == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True

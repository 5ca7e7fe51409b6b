"""The contract's JSON Schema files, loaded once and indexed by (event_type, schema_version).

The files are the source of truth: the validator here, the SQL validation and the docs are all
generated from them, so nothing about a field is restated in Python.
"""

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

SCHEMA_DIR = Path(__file__).parent / "schemas"

# Stream schemas sit at the top of SCHEMA_DIR; batch/ holds rows that never go on the stream.
_STREAM_GLOB = "*.v*.json"


@cache
def load_schemas() -> Mapping[tuple[str, int], Mapping[str, Any]]:
    """Every stream schema keyed by the (event_type, schema_version) its consts declare.

    The key comes from the schema body rather than the file name so a renamed file cannot
    silently validate events against the wrong schema; a mismatch fails loudly instead.
    """
    schemas: dict[tuple[str, int], Mapping[str, Any]] = {}
    for path in sorted(SCHEMA_DIR.glob(_STREAM_GLOB)):
        schema = json.loads(path.read_text(encoding="utf-8"))
        properties = schema["properties"]
        key = (properties["event_type"]["const"], properties["schema_version"]["const"])
        expected_name = f"{key[0]}.v{key[1]}.json"
        if path.name != expected_name:
            raise ValueError(f"{path} declares {key}; rename it to {expected_name}")
        schemas[key] = MappingProxyType(schema)
    return MappingProxyType(schemas)


def _known_versions() -> Mapping[str, frozenset[int]]:
    versions: dict[str, set[int]] = {}
    for event_type, version in load_schemas():
        versions.setdefault(event_type, set()).add(version)
    return MappingProxyType({name: frozenset(found) for name, found in versions.items()})


KNOWN_VERSIONS: Mapping[str, frozenset[int]] = _known_versions()

"""The ways real producers and networks misbehave, at configurable rates, and how to malform."""

import copy
import json
from dataclasses import dataclass
from random import Random
from typing import Any

from ingestion.contract import load_schemas

# Lateness is bounded by what the stream promises (the contract: up to 7 days on the stream).
MAX_LATE_DAYS = 7.0


@dataclass(frozen=True)
class FaultRates:
    """How often each fault happens; every rate may be 0.

    malformed, schema_drift, late and out_of_order are alternatives: each fresh event gets at
    most one of them, with these probabilities (so they must sum to at most 1).
    refund_before_gift is the share of gifts whose refund is emitted before the gift.
    redelivery and resend_new_event_id are the shares of valid records that are sent again.
    """

    redelivery: float = 0.01
    resend_new_event_id: float = 0.003
    out_of_order: float = 0.02
    late: float = 0.002
    refund_before_gift: float = 0.01
    malformed: float = 0.002
    schema_drift: float = 0.01
    late_max_days: float = MAX_LATE_DAYS

    def __post_init__(self) -> None:
        for name in (
            "redelivery",
            "resend_new_event_id",
            "out_of_order",
            "late",
            "refund_before_gift",
            "malformed",
            "schema_drift",
        ):
            rate = getattr(self, name)
            if not 0 <= rate <= 1:
                raise ValueError(f"{name} must be a rate between 0 and 1, got {rate}")
        if self.malformed + self.schema_drift + self.late + self.out_of_order > 1:
            raise ValueError("malformed + schema_drift + late + out_of_order must not exceed 1")
        if not 0 < self.late_max_days <= MAX_LATE_DAYS:
            raise ValueError(
                f"late_max_days must be in (0, {MAX_LATE_DAYS}], got {self.late_max_days}"
            )

    @classmethod
    def none(cls) -> "FaultRates":
        """A clean stream: every record valid, sent once, in order."""
        return cls(
            redelivery=0,
            resend_new_event_id=0,
            out_of_order=0,
            late=0,
            refund_before_gift=0,
            malformed=0,
            schema_drift=0,
        )


MALFORMATIONS = (
    "not_json",
    "truncated",
    "missing_field",
    "wrong_type",
    "out_of_range",
    "unknown_event_type",
    "unsupported_schema_version",
    "bad_enum",
    "timestamp_without_offset",
)

_GARBAGE = (
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",  # a gzip header: compressed by mistake
    b"\xff\xfe{\x00}\x00",  # UTF-16 with a byte-order mark
    b"null",  # JSON, but not an object
    b'["donation.completed"]',
)
_UNKNOWN_EVENT_TYPES = ("donation.pledged", "inventory.transferred", "partner.feedback_submitted")
_UNSUPPORTED_VERSIONS = (0, 2, 3, 99)
_BAD_SOURCE = "legacy_import"
_ENVELOPE_TIMESTAMPS = ("occurred_at", "emitted_at")

# Values that can never pass a field of the given type.
_WRONG_TYPE_VALUES: dict[str, tuple[Any, ...]] = {
    "string": (42, None, True, ["x"]),
    "integer": ("2500", 25.5, None, True),
    "number": ("12.5", None, False, {"lbs": 1}),
    "boolean": ("true", 1, None),
    "object": ("n/a", [], None),
}


class Malformer:
    """Turns a valid event into bytes that violate the contract in one specific way.

    What to break is read from the schemas, so a new field or rule is exercised without
    touching this class.
    """

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._payload_fields: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for (event_type, _), schema in sorted(load_schemas().items()):
            payload = schema["properties"]["payload"]["properties"]
            self._payload_fields[event_type] = list(payload.items())

    def malform(self, event: dict[str, Any]) -> bytes:
        """A broken copy of event (the caller's dict is not changed) as record bytes."""
        rng = self._rng
        kind = rng.choice(MALFORMATIONS)
        if kind == "not_json":
            return rng.choice(_GARBAGE)
        if kind == "truncated":
            # Any proper prefix of a JSON object is invalid JSON: the closing brace is missing.
            whole = compact_json(event)
            return whole[: rng.randrange(1, len(whole))]
        broken = copy.deepcopy(event)
        payload = broken["payload"]
        fields = self._payload_fields[broken["event_type"]]
        if kind == "missing_field":
            if rng.random() < 0.3:
                del broken[rng.choice(list(broken))]
            else:
                del payload[rng.choice(fields)[0]]
        elif kind == "wrong_type":
            name, spec = rng.choice(fields)
            payload[name] = rng.choice(_WRONG_TYPE_VALUES[spec["type"]])
        elif kind == "out_of_range":
            name, spec = rng.choice([(n, s) for n, s in fields if _has_bound(s)])
            payload[name] = _below_bound(spec, rng)
        elif kind == "unknown_event_type":
            broken["event_type"] = rng.choice(_UNKNOWN_EVENT_TYPES)
        elif kind == "unsupported_schema_version":
            broken["schema_version"] = rng.choice(_UNSUPPORTED_VERSIONS)
        elif kind == "bad_enum":
            enums = [(n, s) for n, s in fields if "enum" in s]
            if enums and rng.random() < 0.7:
                name, spec = rng.choice(enums)
                payload[name] = spec["enum"][0].upper() + "_X"
            else:
                broken["source"] = _BAD_SOURCE
        else:  # timestamp_without_offset
            field = rng.choice(_ENVELOPE_TIMESTAMPS)
            broken[field] = _strip_offset(broken[field])
        return compact_json(broken)


def _has_bound(spec: dict[str, Any]) -> bool:
    return any(key in spec for key in ("minimum", "exclusiveMinimum", "minLength"))


def _below_bound(spec: dict[str, Any], rng: Random) -> Any:
    if "minLength" in spec:
        return ""
    if "exclusiveMinimum" in spec:
        limit = spec["exclusiveMinimum"]
        return limit if rng.random() < 0.5 else limit - rng.randint(1, 5_000)
    below = spec["minimum"] - rng.randint(1, 5_000)
    return below if spec["type"] == "integer" else below - 0.5


def _strip_offset(timestamp: str) -> str:
    """2026-03-02T09:04:05.123-08:00 or ...Z becomes 2026-03-02T09:04:05.123 (local, ambiguous)."""
    if timestamp.endswith(("Z", "z")):
        return timestamp[:-1]
    return timestamp[:-6]


def compact_json(event: dict[str, Any]) -> bytes:
    """Record bytes as producers send them: compact UTF-8 JSON (non-ASCII kept as UTF-8)."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()

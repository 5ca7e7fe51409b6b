"""The contract as code agrees with the contract document, with jsonschema, and with itself.

Each rule in docs/event-contract.md has a test here; the schemas are checked to be
valid, self-contained 2020-12 schemas in the restricted keyword set SQL is generated from.
"""

import copy
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ingestion.contract import (
    BUSINESS_KEYS,
    KNOWN_VERSIONS,
    SCHEMA_DIR,
    ContractViolation,
    Violation,
    check_event,
    load_schemas,
    partition_key,
    validate_event,
    validate_record,
)
from ingestion.contract.limits import MAX_INTEGER, MAX_POUNDS

# One hand-written valid event per stream type, written out rather than taken from the
# simulator so these tests do not depend on code they are used to check.
_ENVELOPE = {
    "event_id": "0b6f1c1e-8a53-4d7a-9d2f-1f0e5c3b2a10",
    "schema_version": 1,
    "occurred_at": "2026-03-02T09:04:05.123-08:00",
    "emitted_at": "2026-03-02T17:04:06.000001Z",
}

_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "donation.completed": (
        "donation_platform",
        {
            "donation_id": "don-1",
            "donor_id": "dnr-0000042",
            "campaign_id": "spring-appeal-2026",
            "amount_cents": 5_000,
            "currency": "USD",
            "channel": "online",
            "payment_method": "card",
            "processor": "stripe",
            "processor_txn_id": "ch_123",
            "fee_cents": 140,
            "is_recurring": False,
            "designation": "general",
            "donor": {"name": "Maria Garcia", "email": "maria@example.org", "postal_code": "94601"},
        },
    ),
    "donation.refunded": (
        "donation_platform",
        {
            "refund_id": "ref-1",
            "donation_id": "don-1",
            "amount_cents": 5_000,
            "reason": "donor_request",
        },
    ),
    "crm.donor_upserted": (
        "crm",
        {
            "donor_id": "dnr-0000042",
            "name": "Maria Garcia",
            "email": "maria@example.org",
            "postal_code": "94601",
            "is_major_donor": True,
            "updated_at": "2026-03-02T17:04:05+00:00",
        },
    ),
    "inventory.received": (
        "warehouse",
        {
            "receipt_id": "rcv-1",
            "site_id": "oak-main",
            "sku": "PRD-APPLE-40",
            "category": "produce",
            "lbs": 1_250.5,
            "acquisition": "donated",
            "value_cents": 118_798,
        },
    ),
    "inventory.shipped": (
        "warehouse",
        {
            "shipment_id": "shp-1",
            "site_id": "oak-main",
            "partner_id": "ptr-0007",
            "sku": "PRO-BEANS-24",
            "category": "protein",
            "lbs": 240,
        },
    ),
    "inventory.adjusted": (
        "warehouse",
        {
            "adjustment_id": "adj-1",
            "site_id": "oak-main",
            "sku": "DAI-MILK-30",
            "category": "dairy",
            "lbs_delta": -30.5,
            "reason": "spoilage",
        },
    ),
    "partner.order_placed": (
        "partner_api",
        {
            "order_id": "ord-1",
            "partner_id": "ptr-0007",
            "site_id": "oak-main",
            "requested_lbs": 1_800.0,
            "needed_by": "2026-03-09",
        },
    ),
    "partner.distribution_reported": (
        "partner_api",
        {
            "report_id": "rpt-1",
            "partner_id": "ptr-0007",
            "households_served": 212,
            "individuals_served": 640,
            "lbs_distributed": 5_300.0,
            "service_date": "2026-03-01",
            "postal_code": "94606",
        },
    ),
}

EVENT_TYPES = tuple(_EXAMPLES)


def example(event_type: str) -> dict[str, Any]:
    """A fresh (deep-copied, so tests may mutate it) valid event of event_type."""
    source, payload = _EXAMPLES[event_type]
    event = {
        "event_id": _ENVELOPE["event_id"],
        "event_type": event_type,
        "schema_version": _ENVELOPE["schema_version"],
        "source": source,
        "occurred_at": _ENVELOPE["occurred_at"],
        "emitted_at": _ENVELOPE["emitted_at"],
        "payload": payload,
    }
    return copy.deepcopy(event)


REPO_ROOT = Path(__file__).resolve().parents[2]
# The producers' contract as the repository carries it: a clone tests against its own copy.
CONTRACT_DOC = REPO_ROOT / "docs" / "event-contract.md"
SETTLEMENT_SCHEMA = SCHEMA_DIR / "batch" / "settlement_row.v1.json"
ALL_SCHEMA_FILES = sorted(SCHEMA_DIR.rglob("*.json"))

ALLOWED_KEYWORDS = {
    "$schema", "$id", "title", "description", "type", "properties", "required", "enum", "const",
    "minimum", "exclusiveMinimum", "maximum", "minLength", "format", "pattern",
}  # fmt: skip
ALLOWED_TYPES = {"string", "integer", "number", "boolean", "object"}
ALLOWED_FORMATS = {"uuid", "date-time", "date"}
WRONG_VALUE_FOR_TYPE: dict[str, Any] = {
    "string": 123,
    "integer": "123",
    "number": "1.5",
    "boolean": "true",
    "object": ["not", "an", "object"],
}


def reasons(event: object) -> list[str]:
    return [violation.reason for violation in validate_event(event)]


def schema_fields(schema: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """(dotted path, property schema) for every property, depth first in declaration order."""
    for name, spec in schema.get("properties", {}).items():
        yield prefix + name, spec
        yield from schema_fields(spec, prefix + name + ".")


def set_path(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for parent in parents:
        event = event[parent]
    event[last] = value


def delete_path(event: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for parent in parents:
        event = event[parent]
    del event[last]


def schema_for(event_type: str) -> dict[str, Any]:
    return dict(load_schemas()[event_type, 1])


EVERY_FIELD = [
    pytest.param(event_type, path, spec, id=f"{event_type}:{path}")
    for event_type in EVENT_TYPES
    for path, spec in schema_fields(schema_for(event_type))
]


# --- the schemas themselves -----------------------------------------------------------------


def test_every_stream_event_type_has_schema_version_1():
    assert dict(KNOWN_VERSIONS) == {event_type: frozenset({1}) for event_type in EVENT_TYPES}


@pytest.mark.parametrize("path", ALL_SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_file_is_a_valid_draft_2020_12_schema(path):
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", ALL_SCHEMA_FILES, ids=lambda path: path.name)
def test_schema_uses_only_the_keywords_sql_is_generated_from(path):
    def check(node: dict[str, Any], where: str) -> None:
        assert set(node) <= ALLOWED_KEYWORDS, f"{where}: {set(node) - ALLOWED_KEYWORDS}"
        assert node["type"] in ALLOWED_TYPES, where
        assert node.get("format", "uuid") in ALLOWED_FORMATS, where
        assert set(node.get("required", ())) <= set(node.get("properties", {})), where
        for name, child in node.get("properties", {}).items():
            check(child, f"{where}.{name}")

    check(json.loads(path.read_text()), path.name)


@pytest.mark.parametrize("path", ALL_SCHEMA_FILES, ids=lambda path: path.name)
def test_every_property_is_described_for_the_docs(path):
    for field, spec in schema_fields(json.loads(path.read_text())):
        assert spec.get("description", "").strip(), f"{path.name}: {field} has no description"


def test_pii_fields_say_so_in_their_description():
    pii = {
        ("donation.completed", "payload.donor"),
        ("donation.completed", "payload.donor.name"),
        ("donation.completed", "payload.donor.email"),
        ("donation.completed", "payload.donor.postal_code"),
        ("crm.donor_upserted", "payload.name"),
        ("crm.donor_upserted", "payload.email"),
        ("crm.donor_upserted", "payload.postal_code"),
    }
    for event_type in EVENT_TYPES:
        for path, spec in schema_fields(schema_for(event_type)):
            marked = re.search(r"\bPII\b", spec["description"]) is not None
            if (event_type, path) in pii:
                assert marked, f"{event_type} {path} is PII but not marked"
            elif marked:
                assert "not PII" in spec["description"], f"{event_type} {path} marked as PII"


def test_stream_schemas_require_the_envelope_in_contract_order():
    for event_type in EVENT_TYPES:
        schema = schema_for(event_type)
        assert list(schema["properties"]) == [
            "event_id", "event_type", "schema_version", "source", "occurred_at", "emitted_at",
            "payload",
        ]  # fmt: skip
        assert schema["required"] == list(schema["properties"])


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "string", "pattern": "^[A-Z]{3}$"},
        {"type": "string", "format": "email"},
        {"type": "number", "multipleOf": 0.1},
    ],
)
def test_a_schema_rule_the_validator_cannot_enforce_fails_loudly(spec):
    from ingestion.contract.validation import _compile

    with pytest.raises(ValueError, match="unsupported"):
        _compile({"properties": {"currency": spec}})


def test_load_schemas_is_cached():
    assert load_schemas() is load_schemas()


# --- the schemas agree with the human contract ----------------------------------------------


def contract_text() -> str:
    # Fail rather than skip: a missing contract would silently switch these checks off.
    assert CONTRACT_DOC.is_file(), f"contract document not found at {CONTRACT_DOC}"
    return CONTRACT_DOC.read_text(encoding="utf-8")


def contract_bullets() -> dict[str, tuple[str | None, str]]:
    """Each bullet's name (event type or 'settlement rows') -> (source, bullet text)."""
    bullets: dict[str, tuple[str | None, str]] = {}
    source = None
    name = None
    for line in contract_text().splitlines():
        header = re.search(r"\(source `(\w+)`\)", line)
        if header:
            source = header.group(1)
        elif line.startswith("Finance"):
            source = None
        bullet = re.match(r"- (`[\w.]+`|settlement rows): (.*)", line)
        if bullet:
            name = bullet.group(1).strip("`")
            bullets[name] = (source, bullet.group(2))
        elif name and line.startswith("  "):
            bullets[name] = (bullets[name][0], bullets[name][1] + " " + line.strip())
        else:
            name = None
    return bullets


def documented_fields(text: str) -> list[str]:
    """Backticked names outside parentheses: the fields (parentheses hold values and rules)."""
    return re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", text))


def documented_rules(text: str) -> dict[str, str]:
    return dict(re.findall(r"`(\w+)`\s*\(([^)]*)\)", text))


def test_contract_document_lists_exactly_the_schema_event_types():
    listed = {name for name in contract_bullets() if name != "settlement rows"}
    assert listed == set(KNOWN_VERSIONS)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_has_every_payload_field_the_contract_lists_and_no_other(event_type):
    source, text = contract_bullets()[event_type]
    schema = schema_for(event_type)
    payload_paths = {path.removeprefix("payload.") for path, _ in schema_fields(schema)}
    top_level = set(schema["properties"]["payload"]["properties"])
    documented = documented_fields(text)
    assert documented, f"no fields parsed for {event_type}"
    for field in documented:
        assert any(path.split(".")[-1] == field for path in payload_paths), field
    assert top_level <= set(documented)
    assert schema["properties"]["source"]["const"] == source


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_rules_match_the_rules_the_contract_states(event_type):
    payload = schema_for(event_type)["properties"]["payload"]
    # The contract names nested fields (the donor's) by their own name.
    specs = {path.split(".")[-1]: spec for path, spec in schema_fields(payload)}
    for field, rule in documented_rules(contract_bullets()[event_type][1]).items():
        spec = specs[field]
        values = re.findall(r"`(\w+)`", rule)
        if values:
            assert spec["enum"] == values, field
        if rule.startswith("> 0"):
            assert spec.get("exclusiveMinimum") == 0, field
        if rule.startswith("≥ 0"):
            assert spec.get("minimum") == 0, field
        if rule == "bool":
            assert spec["type"] == "boolean", field
        if rule == "date":
            assert spec["format"] == "date", field
        if rule.startswith("RFC 3339"):
            assert spec["format"] == "date-time", field
        if rule == "signed":
            assert spec["type"] == "number" and spec["minimum"] < 0 < spec["maximum"], field
        if "PII" in rule:
            assert "PII" in spec["description"], field


def test_money_fields_are_integer_cents_and_weights_are_decimal_pounds():
    for path in ALL_SCHEMA_FILES:
        for field, spec in schema_fields(json.loads(path.read_text())):
            if field.endswith("_cents"):
                assert spec["type"] == "integer", f"{path.name} {field}"
            if field.endswith(("_lbs", ".lbs", "lbs_delta", "lbs_distributed")):
                assert spec["type"] == "number", f"{path.name} {field}"


def test_every_number_is_bounded_to_fit_its_warehouse_column():
    # Integers land in bigint and must be exact in float8 (the SQL bound check compares there);
    # pounds land in decimal(18, 3). An unbounded field lets one record fail a staging cast.
    for path in (p for p in ALL_SCHEMA_FILES if p.parent == SCHEMA_DIR):
        for field, spec in schema_fields(json.loads(path.read_text())):
            if spec["type"] == "integer" and field != "schema_version":
                assert spec["maximum"] == MAX_INTEGER == 2**53 - 1, f"{path.name} {field}"
                assert spec.get("minimum", spec.get("exclusiveMinimum")) == 0, field
            if spec["type"] == "number":
                assert spec["maximum"] == MAX_POUNDS < 10**15, f"{path.name} {field}"
                assert spec.get("minimum", spec.get("exclusiveMinimum")) >= -MAX_POUNDS, field


def test_envelope_table_matches_the_schemas():
    text = contract_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| ([^|]*) \|", text, flags=re.MULTILINE))
    for event_type in EVENT_TYPES:
        assert list(schema_for(event_type)["properties"]) == list(rows)
    documented_sources = set(re.findall(r"`(\w+)`", text.split("| `source` |")[1].split("\n")[0]))
    schema_sources = {schema_for(t)["properties"]["source"]["const"] for t in EVENT_TYPES}
    assert schema_sources == documented_sources


def test_settlement_row_schema_matches_the_contract():
    _, text = contract_bullets()["settlement rows"]
    schema = json.loads(SETTLEMENT_SCHEMA.read_text())
    assert list(schema["properties"]) == documented_fields(text)
    assert schema["required"] == documented_fields(text)


def test_business_keys_are_the_documented_identifiers_and_required_payload_fields():
    identity = contract_text().split("## Identity")[1]
    for event_type, field in BUSINESS_KEYS.items():
        payload = schema_for(event_type)["properties"]["payload"]
        assert field in payload["required"], event_type
        assert f"`{field}`" in identity or event_type == "crm.donor_upserted", field
    assert BUSINESS_KEYS["crm.donor_upserted"] == "donor_id"
    assert set(BUSINESS_KEYS) == set(KNOWN_VERSIONS)


# --- validation: valid events ---------------------------------------------------------------


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_example_of_each_type_passes(event_type):
    event = example(event_type)
    assert validate_event(event) == []
    assert validate_record(json.dumps(event).encode()) == []
    assert validate_record(json.dumps(event)) == []
    check_event(event)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_unknown_extra_fields_are_allowed_in_envelope_and_payload(event_type):
    event = example(event_type)
    event["trace_id"] = "abc"
    event["producer"] = {"version": [2, 4]}
    event["payload"]["utm_source"] = None
    event["payload"]["new_thing"] = {"nested": True}
    assert validate_event(event) == []


def test_unknown_extra_fields_are_allowed_in_nested_objects():
    event = example("donation.completed")
    event["payload"]["donor"]["phone"] = "+1-510-555-0100"
    assert validate_event(event) == []


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-03-02T17:04:05Z",
        "2026-03-02T17:04:05.5+05:30",
        "2026-03-02T09:04:05.123456789-08:00",
        "2026-03-02t17:04:05z",  # RFC 3339 allows lower case
        "2024-02-29T00:00:00Z",
    ],
)
def test_rfc3339_timestamps_with_an_offset_pass(timestamp):
    event = example("crm.donor_upserted")
    event["occurred_at"] = event["emitted_at"] = event["payload"]["updated_at"] = timestamp
    assert validate_event(event) == []


def test_numbers_accept_integers_and_signed_deltas():
    event = example("inventory.adjusted")
    event["payload"]["lbs_delta"] = 12
    assert validate_event(event) == []
    event["payload"]["lbs_delta"] = -0.1
    assert validate_event(event) == []


# --- validation: each rule ------------------------------------------------------------------


@pytest.mark.parametrize(("event_type", "path", "spec"), EVERY_FIELD)
def test_each_missing_required_field_is_reported_alone(event_type, path, spec):
    event = example(event_type)
    delete_path(event, path)
    assert reasons(event) == [f"missing_field:{path}"]


@pytest.mark.parametrize(("event_type", "path", "spec"), EVERY_FIELD)
def test_each_wrong_type_is_reported_alone(event_type, path, spec):
    event = example(event_type)
    set_path(event, path, WRONG_VALUE_FOR_TYPE[spec["type"]])
    assert reasons(event) == [f"wrong_type:{path}"]


@pytest.mark.parametrize(("event_type", "path", "spec"), EVERY_FIELD)
def test_null_is_a_wrong_type_not_a_missing_field(event_type, path, spec):
    event = example(event_type)
    set_path(event, path, None)
    assert reasons(event) == [f"wrong_type:{path}"]


@pytest.mark.parametrize(
    ("event_type", "path"),
    [
        ("donation.completed", "payload.amount_cents"),
        ("donation.completed", "payload.fee_cents"),
        ("inventory.received", "payload.lbs"),
        ("inventory.received", "payload.value_cents"),
        ("partner.order_placed", "payload.requested_lbs"),
        ("partner.distribution_reported", "payload.households_served"),
        ("partner.distribution_reported", "payload.lbs_distributed"),
        ("donation.completed", "payload.is_recurring"),
        ("crm.donor_upserted", "payload.is_major_donor"),
    ],
)
def test_a_boolean_is_never_a_number_and_a_number_never_a_boolean(event_type, path):
    event = example(event_type)
    set_path(event, path, 1 if path.endswith(("recurring", "major_donor")) else True)
    assert reasons(event) == [f"wrong_type:{path}"]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_check_event_rejects_numbers_json_cannot_carry(value):
    # Reachable only through check_event on a producer's dict: the JSON parser refuses them.
    event = example("inventory.received")
    event["payload"]["lbs"] = value
    assert reasons(event) == ["wrong_type:payload.lbs"]


def test_messages_show_values_json_cannot_represent():
    event = example("crm.donor_upserted")
    event["payload"]["updated_at"] = datetime(2026, 3, 2, tzinfo=UTC)
    event["payload"]["name"] = {("first", "last"): "Maria"}
    messages = [v.message for v in validate_event(event)]
    assert "first" in messages[0] and "datetime" in messages[1]


def test_a_float_with_no_fraction_is_not_integer_cents():
    # Deliberately stricter than JSON Schema, which calls 5.0 an integer: see validation.py.
    event = example("donation.completed")
    event["payload"]["amount_cents"] = 5000.0
    assert reasons(event) == ["wrong_type:payload.amount_cents"]
    jsonschema_errors = list(_validator("donation.completed").iter_errors(event))
    assert jsonschema_errors == []


@pytest.mark.parametrize(
    ("event_type", "path", "failing", "passing"),
    [
        ("donation.completed", "payload.amount_cents", 0, 1),
        ("donation.completed", "payload.amount_cents", -500, 1),
        ("donation.refunded", "payload.amount_cents", 0, 1),
        ("donation.completed", "payload.fee_cents", -1, 0),
        ("inventory.received", "payload.lbs", 0, 0.001),
        ("inventory.received", "payload.lbs", -2.5, 0.001),
        ("inventory.received", "payload.value_cents", -1, 0),
        ("inventory.shipped", "payload.lbs", 0.0, 0.1),
        ("partner.order_placed", "payload.requested_lbs", 0, 0.5),
        ("partner.distribution_reported", "payload.households_served", -1, 0),
        ("partner.distribution_reported", "payload.individuals_served", -1, 0),
        ("partner.distribution_reported", "payload.lbs_distributed", -0.1, 0),
        ("donation.completed", "payload.donation_id", "", "d"),
        ("inventory.shipped", "payload.site_id", "", "s"),
    ],
)
def test_range_rules_hold_at_their_boundary(event_type, path, failing, passing):
    event = example(event_type)
    set_path(event, path, failing)
    assert reasons(event) == [f"out_of_range:{path}"]
    set_path(event, path, passing)
    assert reasons(event) == []


@pytest.mark.parametrize(
    ("event_type", "path", "value"),
    [
        ("donation.completed", "payload.channel", "fax"),
        ("donation.completed", "payload.channel", "Online"),
        ("donation.completed", "payload.designation", "general_fund"),
        ("donation.completed", "payload.currency", "EUR"),
        ("inventory.received", "payload.acquisition", "found"),
        ("donation.completed", "source", "crm"),
        ("crm.donor_upserted", "source", "donation_platform"),
        ("inventory.shipped", "source", "partner_api"),
    ],
)
def test_values_outside_an_enum_or_const_are_invalid(event_type, path, value):
    event = example(event_type)
    set_path(event, path, value)
    assert reasons(event) == [f"invalid_value:{path}"]


@pytest.mark.parametrize(
    ("event_type", "path", "value"),
    [
        ("donation.completed", "occurred_at", "2026-03-02T09:04:05"),
        ("donation.completed", "emitted_at", "2026-03-02T17:04:05.123"),
        ("crm.donor_upserted", "payload.updated_at", "2026-03-02 17:04:05"),
        ("donation.completed", "occurred_at", "2026-03-02"),
        ("donation.completed", "occurred_at", "2026-02-30T00:00:00Z"),
        ("donation.completed", "occurred_at", "2026-03-02T17:04:05Z\n"),
        ("donation.completed", "occurred_at", "1772471045"),
        ("donation.completed", "event_id", "not-a-uuid"),
        ("donation.completed", "event_id", "0b6f1c1e8a534d7a9d2f1f0e5c3b2a10"),
        ("partner.order_placed", "payload.needed_by", "2026-13-01"),
        ("partner.order_placed", "payload.needed_by", "03/09/2026"),
        ("partner.distribution_reported", "payload.service_date", "2026-03-01T00:00:00Z"),
    ],
)
def test_badly_formatted_ids_timestamps_and_dates_are_invalid_format(event_type, path, value):
    event = example(event_type)
    set_path(event, path, value)
    assert reasons(event) == [f"invalid_format:{path}"]


def test_unknown_event_type_stops_after_the_envelope():
    event = example("donation.completed")
    event["event_type"] = "donation.pledged"
    event["payload"] = {"anything": "goes"}
    event["occurred_at"] = "yesterday"
    assert reasons(event) == ["unknown_event_type:event_type", "invalid_format:occurred_at"]
    violation = validate_event(event)[0]
    assert "donation.pledged" in violation.message


def test_unknown_event_type_still_checks_the_envelope_it_can():
    event = example("inventory.shipped")
    event["event_type"] = "inventory.transferred"
    event["source"] = "mainframe"
    event["schema_version"] = 0
    assert reasons(event) == [
        "unknown_event_type:event_type",
        "out_of_range:schema_version",
        "invalid_value:source",
    ]


@pytest.mark.parametrize("missing_or_wrong", [None, 7])
def test_a_missing_or_non_string_event_type_is_reported_as_such(missing_or_wrong):
    event = example("donation.completed")
    event["payload"] = {}
    if missing_or_wrong is None:
        del event["event_type"]
        expected = "missing_field:event_type"
    else:
        event["event_type"] = missing_or_wrong
        expected = "wrong_type:event_type"
    assert reasons(event) == [expected]


@pytest.mark.parametrize("version", [0, 2, 99, -1])
def test_unsupported_schema_version_is_reported_and_stops(version):
    event = example("donation.completed")
    event["schema_version"] = version
    event["occurred_at"] = "not a time"
    event["payload"] = {}
    violations = validate_event(event)
    assert [v.reason for v in violations] == ["unsupported_schema_version:schema_version"]
    assert str(version) in violations[0].message


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b"not json", b"\xff\xfe{\x00}\x00", b'{"a": NaN}', b"[Infinity]", "{'a': 1}"],
)
def test_unparseable_records_are_invalid_json_only(raw):
    violations = validate_record(raw)
    assert [(v.code, v.field, v.reason) for v in violations] == [
        ("invalid_json", None, "invalid_json")
    ]


def test_a_truncated_valid_record_is_invalid_json():
    raw = json.dumps(example("donation.completed")).encode()
    assert [v.reason for v in validate_record(raw[:-1])] == ["invalid_json"]


@pytest.mark.parametrize("raw", [b"[]", b"null", b'"donation.completed"', b"42", b"true"])
def test_json_that_is_not_an_object_is_not_an_object_only(raw):
    assert [v.reason for v in validate_record(raw)] == ["not_an_object"]


def test_non_utf8_bytes_are_invalid_json():
    raw = json.dumps(example("crm.donor_upserted"), ensure_ascii=False).encode("latin-1")
    assert [v.reason for v in validate_record(raw.replace(b"Maria", b"Mar\xeda"))] == [
        "invalid_json"
    ]


def test_non_ascii_utf8_text_is_fine():
    event = example("crm.donor_upserted")
    event["payload"]["name"] = "José Núñez 陈"
    assert validate_record(json.dumps(event, ensure_ascii=False).encode()) == []


# --- violation order, reasons and messages --------------------------------------------------


def test_violations_come_envelope_first_then_payload_in_schema_order_depth_first():
    event = example("donation.completed")
    event["event_id"] = "nope"
    event["emitted_at"] = "2026-03-02T17:04:05"
    payload = event["payload"]
    del payload["amount_cents"]
    payload["channel"] = "fax"
    payload["fee_cents"] = -3
    del payload["donor"]["email"]
    payload["donor"]["postal_code"] = 94601
    payload["designation"] = "other"
    assert reasons(event) == [
        "invalid_format:event_id",
        "invalid_format:emitted_at",
        "missing_field:payload.amount_cents",
        "invalid_value:payload.channel",
        "out_of_range:payload.fee_cents",
        "invalid_value:payload.designation",
        "missing_field:payload.donor.email",
        "wrong_type:payload.donor.postal_code",
    ]


def test_at_most_one_violation_per_field_with_type_before_range():
    event = example("donation.completed")
    event["payload"]["amount_cents"] = "-5"
    event["source"] = 3
    assert reasons(event) == ["wrong_type:source", "wrong_type:payload.amount_cents"]


def test_a_non_object_payload_is_not_descended_into():
    event = example("donation.completed")
    event["payload"] = "donation"
    assert reasons(event) == ["wrong_type:payload"]


def test_reason_is_code_and_field_or_just_the_code():
    assert Violation("missing_field", "payload.x", "m").reason == "missing_field:payload.x"
    assert Violation("invalid_json", None, "m").reason == "invalid_json"


def test_messages_say_what_was_expected_and_what_was_found():
    event = example("donation.completed")
    event["payload"]["amount_cents"] = 0
    event["payload"]["fee_cents"] = "free"
    range_message, type_message = (v.message for v in validate_event(event))
    assert "greater than 0" in range_message and "found 0" in range_message
    assert "integer" in type_message and '"free"' in type_message


def test_check_event_raises_a_contract_violation_naming_every_field():
    event = example("inventory.received")
    event["payload"]["lbs"] = 0
    del event["payload"]["sku"]
    with pytest.raises(ContractViolation) as raised:
        check_event(event)
    assert isinstance(raised.value, ValueError)
    assert [v.reason for v in raised.value.violations] == [
        "missing_field:payload.sku",
        "out_of_range:payload.lbs",
    ]
    message = str(raised.value)
    assert "2 violations" in message
    assert "missing_field:payload.sku" in message and "out_of_range:payload.lbs" in message
    assert "\n" not in message


def test_check_event_passes_a_valid_event_silently():
    assert check_event(example("partner.order_placed")) is None


def test_check_event_rejects_a_non_object():
    with pytest.raises(ContractViolation, match="not_an_object"):
        check_event(["not", "an", "event"])


# --- agreement with jsonschema --------------------------------------------------------------


def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(
        schema_for(event_type), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _jsonschema_fields(event: dict[str, Any]) -> set[str]:
    """The dotted fields jsonschema finds fault with (required errors name the missing field)."""
    fields = set()
    for error in _validator(event["event_type"]).iter_errors(event):
        parent = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            fields.update(f"{parent}.{name}".lstrip(".") for name in missing)
        else:
            fields.add(parent)
    return fields


def mutated_corpus() -> Iterator[dict[str, Any]]:
    """Every valid example, plus every one-field and two-field mutation of it."""
    mutations: list[tuple[str, Any]] = [
        ("delete", None),
        ("set", None),
        ("set", "text"),
        ("set", ""),
        ("set", 0),
        ("set", -1),
        ("set", 7),
        ("set", 0.5),
        ("set", True),
        ("set", {}),
        ("set", []),
        ("set", "2026-03-02T17:04:05"),
        ("set", "2026-03-02T17:04:05Z"),
        ("set", "2026-03-02"),
        ("set", "0b6f1c1e-8a53-4d7a-9d2f-1f0e5c3b2a10"),
        ("set", "USD"),
        ("set", "online"),
    ]
    for event_type in EVENT_TYPES:
        base = example(event_type)
        yield base
        paths = [path for path, _ in schema_fields(schema_for(event_type))]
        paths = [p for p in paths if p not in ("event_type", "schema_version")]
        for index, path in enumerate(paths):
            for action, value in mutations:
                event = copy.deepcopy(base)
                if action == "delete":
                    delete_path(event, path)
                else:
                    set_path(event, path, value)
                yield event
                # Pair each with a second broken field further along, to check ordering too.
                other = paths[(index * 7 + 3) % len(paths)]
                if other != path and not other.startswith(path + ".") and path.count(".") < 2:
                    try:
                        set_path(event, other, WRONG_VALUE_FOR_TYPE["object"])
                    except (KeyError, TypeError):
                        continue
                    yield event


def test_the_hand_walker_and_jsonschema_agree_over_a_mutation_corpus():
    checked = 0
    for event in mutated_corpus():
        ours = {v.field for v in validate_event(event)}
        assert ours == _jsonschema_fields(event), json.dumps(event)
        checked += 1
    assert checked > 2_000


def test_violation_fields_follow_schema_declaration_order():
    for event in mutated_corpus():
        order = [path for path, _ in schema_fields(schema_for(event["event_type"]))]
        fields = [v.field for v in validate_event(event)]
        assert fields == sorted(fields, key=order.index), json.dumps(event)


# --- partition keys -------------------------------------------------------------------------


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode()


def test_a_gift_and_its_refund_share_a_partition_key():
    gift = example("donation.completed")
    refund = example("donation.refunded")
    assert partition_key(raw(gift)) == partition_key(raw(refund)) == "don-1"


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("crm.donor_upserted", "dnr-0000042"),
        ("inventory.received", "oak-main"),
        ("inventory.shipped", "oak-main"),
        ("inventory.adjusted", "oak-main"),
        ("partner.order_placed", "ptr-0007"),
        ("partner.distribution_reported", "ptr-0007"),
    ],
)
def test_partition_key_is_the_entity_the_event_is_about(event_type, expected):
    assert partition_key(raw(example(event_type))) == expected


def _hash_key(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()[:32]


@pytest.mark.parametrize(
    "data",
    [
        b"garbage",
        b"",
        b"[1, 2]",
        raw({**example("donation.completed"), "event_type": "donation.pledged"}),
        raw({**example("donation.completed"), "payload": "x"}),
        raw({**example("inventory.shipped"), "payload": {"site_id": 42}}),
        raw({**example("inventory.shipped"), "payload": {"site_id": ""}}),
        raw({**example("inventory.shipped"), "payload": {"site_id": "x" * 257}}),
        raw({**example("partner.order_placed"), "payload": {}}),
    ],
)
def test_partition_key_falls_back_to_a_stable_hash_of_the_bytes(data):
    assert partition_key(data) == _hash_key(data)
    assert len(partition_key(data)) == 32


def test_partition_key_accepts_the_longest_key_kinesis_allows():
    event = example("inventory.shipped")
    event["payload"]["site_id"] = "s" * 256
    assert partition_key(raw(event)) == "s" * 256


# --- bounds: what no record may carry (issue 12) -----------------------------------------------

_ARRIVAL = datetime(2026, 3, 2, 17, 5, 0, tzinfo=UTC)


def _reasons_at(event: object, arrived_at: datetime = _ARRIVAL) -> list[str]:
    return [violation.reason for violation in validate_event(event, arrived_at=arrived_at)]


@pytest.mark.parametrize(
    ("event_type", "path", "too_big"),
    [
        ("donation.completed", "payload.amount_cents", 2**63),
        ("donation.completed", "payload.amount_cents", 2**53),
        ("donation.completed", "payload.fee_cents", 10**30),
        ("inventory.received", "payload.value_cents", 2**64),
        ("partner.distribution_reported", "payload.households_served", 2**53),
        ("inventory.received", "payload.lbs", 10**12 + 0.5),
        ("inventory.adjusted", "payload.lbs_delta", -(10**13)),
    ],
)
def test_numbers_too_large_for_their_column_are_out_of_range(event_type, path, too_big):
    event = example(event_type)
    set_path(event, path, too_big)
    assert reasons(event) == [f"out_of_range:{path}"]
    set_path(event, path, 2**53 - 1 if isinstance(too_big, int) and "lbs" not in path else 10**12)
    if path.endswith("lbs_delta"):
        set_path(event, path, -(10**12))
    assert reasons(event) == []


def test_an_integer_longer_than_pythons_parser_takes_is_out_of_range_not_invalid_json():
    event = example("donation.completed")
    text = json.dumps(event).replace('"amount_cents": 5000', '"amount_cents": ' + "9" * 5000)
    assert [v.reason for v in validate_record(text)] == ["out_of_range:payload.amount_cents"]


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-29T00:00:00Z",  # not a leap year
        "1900-02-29T00:00:00Z",  # divisible by 100, not by 400
        "2026-04-31T00:00:00Z",
        "2026-02-30T25:00:00Z",
        "2026-03-02T24:00:00Z",
        "2026-03-02T23:59:60Z",  # leap seconds do not cast in either warehouse
        "0000-01-01T00:00:00Z",
        "2026-03-02 17:04:05Z",  # a space for the T
        "2026-03-02T17:04:05+24:00",
    ],
)
def test_timestamps_that_are_not_calendar_instants_are_invalid_format(value):
    event = example("crm.donor_upserted")
    event["payload"]["updated_at"] = value
    assert reasons(event) == ["invalid_format:payload.updated_at"]


def test_leap_days_of_leap_years_pass():
    for day in ("2000-02-29", "2024-02-29", "0400-02-29"):
        event = example("crm.donor_upserted")
        event["payload"]["updated_at"] = f"{day}T00:00:00Z"
        assert reasons(event) == [], day


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("0001-01-01T00:00:00Z", ["out_of_range:occurred_at"]),
        ("1999-12-31T23:59:59.999999Z", ["out_of_range:occurred_at"]),
        ("2000-01-01T00:00:00Z", []),
        ("2026-03-02T17:10:00Z", []),  # arrival + 5 minutes exactly
        ("2026-03-02T09:10:00-08:00", []),  # the same instant in Pacific time
        ("2026-03-02T17:10:00.000001Z", ["out_of_range:occurred_at"]),
        ("2099-01-01T00:00:00Z", ["out_of_range:occurred_at"]),
    ],
)
def test_occurred_at_lies_between_the_floor_and_a_few_minutes_after_arrival(occurred_at, expected):
    event = example("donation.completed")
    event["occurred_at"] = occurred_at
    assert _reasons_at(event) == expected


def test_occurred_at_is_measured_from_now_at_a_producer():
    event = example("donation.completed")
    event["occurred_at"] = "2099-01-01T00:00:00Z"
    assert reasons(event) == ["out_of_range:occurred_at"]
    event["occurred_at"] = datetime.now(UTC).isoformat()
    assert reasons(event) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"event_type":"a","event_type":"b"}', "duplicate_key"),
        ('{"payload":{"amount_cents":1,"amount_cents":2}}', "duplicate_key:payload"),
        ('{"payload":{"donor":{"email":"a","email":"b"}}}', "duplicate_key:payload.donor"),
        ('{"payload":{"x":1,"\\u0078":2}}', "duplicate_key:payload"),  # the same key escaped
    ],
)
def test_a_repeated_key_in_an_object_the_contract_reads_is_rejected_alone(text, expected):
    assert [v.reason for v in validate_record(text)] == [expected]


def test_a_repeated_key_inside_an_unknown_extra_field_is_kept_as_sent():
    event = example("donation.completed")
    text = json.dumps(event)[:-1] + ', "extra": {"k": 1, "k": 2}}'
    assert validate_record(text, arrived_at=_ARRIVAL) == []


def test_one_maximum_record_size_decided_on_the_bytes():
    from ingestion.contract.limits import MAX_RECORD_BYTES

    event = example("donation.completed")
    base = json.dumps(event, ensure_ascii=False).encode()
    padding = MAX_RECORD_BYTES - len(base) - len(', "pad": ""')
    fits = base[:-1] + b', "pad": "' + b"x" * padding + b'"}'
    assert len(fits) == MAX_RECORD_BYTES
    assert validate_record(fits, arrived_at=_ARRIVAL) == []
    over = fits[:-2] + "é".encode() + b'"}'  # one character more, two bytes more
    assert [v.reason for v in validate_record(over)] == ["too_large"]
    assert [v.reason for v in validate_record(over.decode())] == ["too_large"]


def test_the_replacement_character_is_invalid_json_as_non_utf8_bytes_are():
    # The landings keep non-UTF-8 bytes as U+FFFD: refusing the character keeps the producers'
    # verdict on the bytes and the warehouse's on the landed text the same.
    event = example("donation.completed")
    assert [v.reason for v in validate_record(json.dumps(event).encode()[:-1] + b"\xff}")] == [
        "invalid_json"
    ]
    event["payload"]["donor"]["name"] = "Zo\ufffd"
    assert [v.reason for v in validate_record(json.dumps(event, ensure_ascii=False))] == [
        "invalid_json"
    ]

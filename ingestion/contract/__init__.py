"""The producers' event contract as code: JSON Schemas, one validator, and event identity.

Everything that accepts, rejects, deduplicates or shards events goes through this package so
that producers, the landing layer and the tests share one reading of
docs/event-contract.md.
"""

from ingestion.contract.keys import BUSINESS_KEYS, partition_key
from ingestion.contract.registry import KNOWN_VERSIONS, SCHEMA_DIR, load_schemas
from ingestion.contract.validation import (
    ContractViolation,
    Violation,
    check_event,
    validate_event,
    validate_record,
)

__all__ = [
    "BUSINESS_KEYS",
    "KNOWN_VERSIONS",
    "SCHEMA_DIR",
    "ContractViolation",
    "Violation",
    "check_event",
    "load_schemas",
    "partition_key",
    "validate_event",
    "validate_record",
]

"""Which field identifies an event's subject: for dedup (business keys) and for sharding."""

import hashlib
import json
from collections.abc import Mapping
from types import MappingProxyType

from ingestion.contract.registry import KNOWN_VERSIONS

BUSINESS_KEYS: Mapping[str, str] = MappingProxyType(
    {
        "donation.completed": "donation_id",
        "donation.refunded": "refund_id",
        "crm.donor_upserted": "donor_id",
        "inventory.received": "receipt_id",
        "inventory.shipped": "shipment_id",
        "inventory.adjusted": "adjustment_id",
        "partner.order_placed": "order_id",
        "partner.distribution_reported": "report_id",
    }
)

# Shard by the entity an event is about, so the events that must be reconciled together (a gift
# and its refunds; one site's stock movements; one partner's orders and reports) keep their
# relative order on one shard.
_PARTITION_FIELD_BY_DOMAIN = {
    "donation": "donation_id",
    "crm": "donor_id",
    "inventory": "site_id",
    "partner": "partner_id",
}
_PARTITION_FIELDS: Mapping[str, str] = {
    event_type: _PARTITION_FIELD_BY_DOMAIN[event_type.split(".", 1)[0]]
    for event_type in KNOWN_VERSIONS
}
# Kinesis accepts partition keys of 1 to 256 Unicode characters.
_MAX_PARTITION_KEY = 256


def partition_key(raw: bytes) -> str:
    """A stable Kinesis partition key for one record.

    Records that cannot supply the entity (garbage, unknown type, missing key) fall back to a
    hash of their bytes: still stable across retries, and spread evenly rather than piling onto
    one shard.
    """
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):
        event = None
    if isinstance(event, dict):
        payload = event.get("payload")
        event_type = event.get("event_type")
        field = _PARTITION_FIELDS.get(event_type) if isinstance(event_type, str) else None
        if field is not None and isinstance(payload, dict):
            value = payload.get(field)
            if isinstance(value, str) and 0 < len(value) <= _MAX_PARTITION_KEY:
                return value
    return hashlib.sha256(raw).hexdigest()[:32]

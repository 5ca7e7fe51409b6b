"""The expected answer for a stream of records: what the pipeline must end up with.

An independent, deliberately plain reading of the contract's identity rules, used by end-to-end
tests as the oracle. It restates the business keys instead of importing them so that a mistake
in the production mapping shows up as a disagreement rather than being shared. Validation does
reuse ingestion.contract.validate_record: which records are valid is the schemas' call, and
those schemas are tested separately against jsonschema and the contract document.
"""

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingestion.contract import validate_record

# Facts deduplicated by business key: the earliest emitted_at wins, ties to the smallest
# event_id. CRM state is not here: a later upsert of a donor is news, not a duplicate.
_FACT_KEYS = {
    "donation.completed": "donation_id",
    "donation.refunded": "refund_id",
    "inventory.received": "receipt_id",
    "inventory.shipped": "shipment_id",
    "inventory.adjusted": "adjustment_id",
    "partner.order_placed": "order_id",
    "partner.distribution_reported": "report_id",
}

# Warehouses store microseconds; finer fractions are cut so ties are decided as they are there.
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _instant(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime."""
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text.upper())).astimezone(UTC)


@dataclass(frozen=True)
class ExpectedDonation:
    """One gift as the curated donations table must show it."""

    donation_id: str
    donor_id: str
    campaign_id: str
    designation: str
    channel: str
    processor: str
    processor_txn_id: str
    donated_at: datetime  # occurred_at of the winning event, UTC
    emitted_at: datetime  # emitted_at of the winning event, UTC
    gross_amount_cents: int
    fee_cents: int
    refunded_amount_cents: int
    net_amount_cents: int  # gross minus refunded
    is_recurring: bool
    last_refunded_at: datetime | None = None  # occurred_at of its newest refund, UTC


@dataclass(frozen=True)
class Expected:
    """Counts and facts a correct pipeline produces from the records."""

    records: int
    valid_records: int
    quarantined_records: int  # every delivered record that fails validation is one row
    distinct_event_ids: int  # among valid records
    duplicate_deliveries: int  # valid records whose event_id was already seen
    business_duplicates: int  # distinct event_ids that lose to another with the same key
    donations: Mapping[str, ExpectedDonation] = field(repr=False)

    def net_cents_by_campaign(self) -> dict[str, int]:
        """Net raised per campaign: what the fundraising dashboard must show."""
        totals: dict[str, int] = defaultdict(int)
        for donation in self.donations.values():
            totals[donation.campaign_id] += donation.net_amount_cents
        return dict(sorted(totals.items()))

    def donation_amounts(self) -> dict[str, tuple[int, int, int]]:
        """(gross, refunded, net) cents per gift: what fct_donations must hold, row by row."""
        return {
            d.donation_id: (d.gross_amount_cents, d.refunded_amount_cents, d.net_amount_cents)
            for d in self.donations.values()
        }


def expected_outcome(records: Iterable[bytes]) -> Expected:
    """Apply the contract's identity rules to records in delivery order.

    An event_id counts once (its first delivery is the one kept). Per business key the earliest
    emitted_at wins, ties to the smallest event_id. Refunds are facts too, distinct by refund_id,
    and apply to their gift whatever the arrival order; a refund whose gift never arrives shows
    nowhere in donations.
    """
    total = valid = 0
    seen_event_ids: set[str] = set()
    winners: dict[tuple[str, str], tuple[datetime, str, dict[str, Any]]] = {}
    events_per_key: Counter[tuple[str, str]] = Counter()
    for raw in records:
        total += 1
        if validate_record(raw):
            continue
        valid += 1
        event = json.loads(raw)
        event_id = event["event_id"]
        if event_id in seen_event_ids:
            continue
        seen_event_ids.add(event_id)
        key_field = _FACT_KEYS.get(event["event_type"])
        if key_field is None:
            continue
        key = (event["event_type"], event["payload"][key_field])
        events_per_key[key] += 1
        candidate = (_instant(event["emitted_at"]), event_id, event)
        current = winners.get(key)
        if current is None or candidate[:2] < current[:2]:
            winners[key] = candidate

    refunded: dict[str, int] = defaultdict(int)
    last_refunded: dict[str, datetime] = {}
    for (event_type, _), (_, _, event) in winners.items():
        if event_type == "donation.refunded":
            payload = event["payload"]
            refunded[payload["donation_id"]] += payload["amount_cents"]
            at = _instant(event["occurred_at"])
            last_refunded[payload["donation_id"]] = max(
                at, last_refunded.get(payload["donation_id"], at)
            )

    donations = {}
    for (event_type, donation_id), (emitted_at, _, event) in winners.items():
        if event_type != "donation.completed":
            continue
        payload = event["payload"]
        gross = payload["amount_cents"]
        donations[donation_id] = ExpectedDonation(
            donation_id=donation_id,
            donor_id=payload["donor_id"],
            campaign_id=payload["campaign_id"],
            designation=payload["designation"],
            channel=payload["channel"],
            processor=payload["processor"],
            processor_txn_id=payload["processor_txn_id"],
            donated_at=_instant(event["occurred_at"]),
            emitted_at=emitted_at,
            gross_amount_cents=gross,
            fee_cents=payload["fee_cents"],
            refunded_amount_cents=refunded[donation_id],
            net_amount_cents=gross - refunded[donation_id],
            is_recurring=payload["is_recurring"],
            last_refunded_at=last_refunded.get(donation_id),
        )

    return Expected(
        records=total,
        valid_records=valid,
        quarantined_records=total - valid,
        distinct_event_ids=len(seen_event_ids),
        duplicate_deliveries=valid - len(seen_event_ids),
        business_duplicates=sum(count - 1 for count in events_per_key.values()),
        donations=donations,
    )

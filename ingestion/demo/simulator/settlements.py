"""The payment processors' settlement export for a set of gifts, with the breaks real ones have.

Processors settle a gift a couple of days after it is made and send finance a CSV of what they
settled (the contract's settlement_row v1), dropped under ``landing/settlements/`` of the raw
bucket. So that every reconciliation outcome occurs wherever the export is used (the demo, the
marts tests), it is made from the gifts the warehouse must hold (truth.expected_outcome) with
deliberate breaks: the newest gifts are not settled yet, some gifts are not settled, some settle a
dollar short, and a few settlements have no gift on our side; refunds settle as legs of their own.
The export says which outcome each settlement leg must get.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ingestion.demo.simulator.truth import ExpectedDonation

COLUMNS = (
    "processor",
    "processor_txn_id",
    "gross_cents",
    "fee_cents",
    "net_cents",
    "payout_id",
    "settled_at",
)
# What seeds/processor_settlement_terms.csv says of both processors: the export settles a gift
# this long after it is made, so gifts made after its newest settlement minus this are pending.
SETTLEMENT_DELAY = timedelta(days=2)
# Breaks, by a gift's position in (processor, processor_txn_id) order.
UNSETTLED_EVERY = 40
SHORT_EVERY = 57
SHORT_BY_CENTS = 100
UNMATCHED_SETTLEMENTS = 3
# The newest gifts of each processor are not settled yet when the export is cut.
NOT_YET_SETTLED = 5


@dataclass(frozen=True)
class SettlementExport:
    csv: str
    # reconciliation_status -> how many settlement legs rpt_settlement_reconciliation must give it
    expected_statuses: Counter[str]


def _row(
    processor: str, txn_id: str, gross: int, fee: int, settled: datetime
) -> tuple[str | int, ...]:
    return (
        processor,
        txn_id,
        gross,
        fee,
        gross - fee,
        f"po-{processor}-{settled:%Y%m%d}",
        settled.isoformat(),
    )


def _not_yet_settled(gifts: list[ExpectedDonation]) -> set[str]:
    """The donation_ids made at or after each processor's NOT_YET_SETTLED-th newest gift."""
    held: set[str] = set()
    for processor in {gift.processor for gift in gifts}:
        times = sorted((g.donated_at for g in gifts if g.processor == processor), reverse=True)
        since = times[min(NOT_YET_SETTLED, len(times)) - 1]
        held |= {g.donation_id for g in gifts if g.processor == processor and g.donated_at >= since}
    return held


def settlement_export(donations: Iterable[ExpectedDonation]) -> SettlementExport:
    """One charge row per settled gift and one refund row (negative gross) per refunded one, cut
    before each processor's newest gifts (pending); of the rest every 40th is missing and every
    57th short by a dollar; plus three settlements of transactions nobody gave.

    The statuses follow the reconciliation's rules: a gift or refund with no row is pending when
    it is newer than its processor's newest settlement minus SETTLEMENT_DELAY, else missing."""
    gifts = sorted(donations, key=lambda d: (d.processor, d.processor_txn_id))
    held = _not_yet_settled(gifts)
    statuses: Counter[str] = Counter()
    rows: list[tuple[str | int, ...]] = []
    unsettled: list[tuple[str, datetime]] = []  # (processor, when our leg happened)
    for n, gift in enumerate(gifts):
        settled = gift.donated_at + SETTLEMENT_DELAY
        if gift.donation_id in held or n % UNSETTLED_EVERY == 0:
            unsettled.append((gift.processor, gift.donated_at))
            if gift.refunded_amount_cents and gift.last_refunded_at is not None:
                unsettled.append((gift.processor, gift.last_refunded_at))
            continue
        short = n % SHORT_EVERY == 0
        statuses["amount_mismatch" if short else "matched"] += 1
        rows.append(
            _row(
                gift.processor,
                gift.processor_txn_id,
                gift.gross_amount_cents - (SHORT_BY_CENTS if short else 0),
                gift.fee_cents,
                settled,
            )
        )
        if gift.refunded_amount_cents:
            statuses["matched"] += 1
            rows.append(
                _row(gift.processor, gift.processor_txn_id, -gift.refunded_amount_cents, 0, settled)
            )
    settled_through: dict[str, datetime] = {}
    for row in rows:
        processor, at = str(row[0]), datetime.fromisoformat(str(row[6]))
        settled_through[processor] = max(at, settled_through.get(processor, at))
    if rows:
        # Settled with the oldest settlement: they move no processor's cutoff.
        first = min(datetime.fromisoformat(str(row[6])) for row in rows)
        for n in range(UNMATCHED_SETTLEMENTS):
            rows.append(_row("stripe", f"ch_unmatched_{n}", 5000, 175, first))
            statuses["missing_in_donations"] += 1
    for processor, at in unsettled:
        through = settled_through.get(processor)
        pending = through is None or at > through - SETTLEMENT_DELAY
        statuses["pending" if pending else "missing_in_settlement"] += 1

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return SettlementExport(out.getvalue(), statuses)

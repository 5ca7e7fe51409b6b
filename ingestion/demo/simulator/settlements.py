"""The payment processors' settlement export for a set of gifts, with the breaks real ones have.

Processors settle a gift a couple of days after it is made and send finance a CSV of what they
settled (the contract's settlement_row v1), dropped under ``landing/settlements/`` of the raw
bucket. So that every reconciliation outcome occurs wherever the export is used (the demo, the
marts tests), it is made from the gifts the warehouse must hold (truth.expected_outcome) with
deliberate breaks: some gifts are not settled, some settle a dollar short, and a few settlements
have no gift on our side. The export says which outcome each transaction must get.
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
SETTLEMENT_DELAY = timedelta(days=2)
# Breaks, by a gift's position in (processor, processor_txn_id) order.
UNSETTLED_EVERY = 40
SHORT_EVERY = 57
SHORT_BY_CENTS = 100
UNMATCHED_SETTLEMENTS = 3


@dataclass(frozen=True)
class SettlementExport:
    csv: str
    # reconciliation_status -> how many transactions rpt_settlement_reconciliation must give it
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


def settlement_export(donations: Iterable[ExpectedDonation]) -> SettlementExport:
    """One settlement row per gift, every 40th missing, every 57th short by a dollar, plus three
    settlements of transactions nobody gave (settled with the last gift)."""
    gifts = sorted(donations, key=lambda d: (d.processor, d.processor_txn_id))
    statuses: Counter[str] = Counter()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n, gift in enumerate(gifts):
        if n % UNSETTLED_EVERY == 0:
            statuses["missing_in_settlement"] += 1
            continue
        short = n % SHORT_EVERY == 0
        statuses["amount_mismatch" if short else "matched"] += 1
        writer.writerow(
            _row(
                gift.processor,
                gift.processor_txn_id,
                gift.gross_amount_cents - (SHORT_BY_CENTS if short else 0),
                gift.fee_cents,
                gift.donated_at + SETTLEMENT_DELAY,
            )
        )
    if gifts:
        last = max(gift.donated_at for gift in gifts) + SETTLEMENT_DELAY
        for n in range(UNMATCHED_SETTLEMENTS):
            writer.writerow(_row("stripe", f"ch_unmatched_{n}", 5000, 175, last))
            statuses["missing_in_donations"] += 1
    return SettlementExport(out.getvalue(), statuses)

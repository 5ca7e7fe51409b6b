"""The processor settlement export that seeds/processor_settlements.csv holds, made from a corpus.

Until the batch path loads real settlement files, reconciliation reads this seed. It is the
settlement of SEED_CORPUS's gifts with deliberate breaks, so every reconciliation status occurs:
some gifts are not settled, some settle for a different amount, and a few settlements have no
gift in the warehouse.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from ingestion.simulator import FaultRates, Simulator, steady

SEED_START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
# Faults well above their production defaults, so a small corpus holds many of each.
SEED_FAULTS = FaultRates(
    redelivery=0.03,
    resend_new_event_id=0.03,
    out_of_order=0.05,
    late=0.02,
    refund_before_gift=0.02,
    malformed=0.01,
    schema_drift=0.03,
)
COLUMNS = (
    "processor",
    "processor_txn_id",
    "gross_cents",
    "fee_cents",
    "net_cents",
    "payout_id",
    "settled_at",
)


def seed_corpus() -> list[bytes]:
    """The corpus the seed settles (also what the marts tests feed the pipeline)."""
    simulator = Simulator(seed=20261124, start=SEED_START, faults=SEED_FAULTS)
    return [r.data for r in simulator.generate(steady("normal", 2))]


def settlement_csv(records: list[bytes]) -> str:
    """One settlement row per distinct gift, every 40th missing, every 57th short by a dollar."""
    gifts: dict[str, dict[str, object]] = {}
    for data in records:
        try:
            event = json.loads(data)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("event_type") != "donation.completed":
            continue
        payload = event["payload"]
        gifts.setdefault(payload["processor_txn_id"], {**payload, "_at": event["occurred_at"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n, (txn_id, gift) in enumerate(sorted(gifts.items())):
        if n % 40 == 0:
            continue
        gross = int(str(gift["amount_cents"])) - (100 if n % 57 == 0 else 0)
        fee = int(str(gift["fee_cents"]))
        settled = datetime.fromisoformat(str(gift["_at"])).astimezone(UTC) + timedelta(days=2)
        payout = f"po-{gift['processor']}-{settled:%Y%m%d}"
        writer.writerow(
            (
                gift["processor"],
                txn_id,
                gross,
                fee,
                gross - fee,
                payout,
                f"{settled:%Y-%m-%d %H:%M:%S}",
            )
        )
    for n in range(3):
        writer.writerow(
            (
                "stripe",
                f"ch_unmatched_{n}",
                5000,
                175,
                4825,
                "po-stripe-20261123",
                "2026-11-23 02:00:00",
            )
        )
    return out.getvalue()


if __name__ == "__main__":
    print(settlement_csv(seed_corpus()), end="")

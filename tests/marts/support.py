"""The marts tests' corpus, and the batch exports that go with it, dropped and loaded for real.

Exports are written under the test bucket's landing prefixes, for the tests to load with
`load_batches` as `accfb load-batch` and the batch DAGs do: the marts read them through the
lander tables.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.contract import validate_record
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.demo.simulator.settlements import SettlementExport, settlement_export
from ingestion.demo.simulator.truth import expected_outcome

CORPUS_START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
# Faults well above their production defaults, so a small corpus holds many of each.
CORPUS_FAULTS = FaultRates(
    redelivery=0.03,
    resend_new_event_id=0.03,
    out_of_order=0.05,
    late=0.02,
    refund_before_gift=0.02,
    malformed=0.01,
    schema_drift=0.03,
)
CRM_EXPORT_COLUMNS = ("donor_id", "name", "email", "postal_code", "is_major_donor", "updated_at")


def corpus() -> list[bytes]:
    simulator = Simulator(seed=20261124, start=CORPUS_START, faults=CORPUS_FAULTS)
    return [r.data for r in simulator.generate(steady("normal", 2))]


def drop(settings: Settings, key: str, text: str) -> None:
    aws.client("s3", settings).put_object(Bucket=settings.raw_bucket, Key=key, Body=text.encode())


def drop_settlement_export(settings: Settings, records: list[bytes]) -> SettlementExport:
    """The processors' settlement of the records' gifts, with its breaks, dropped to be loaded."""
    export = settlement_export(expected_outcome(records).donations.values())
    drop(settings, "landing/settlements/2026-11-22.csv", export.csv)
    return export


def drop_crm_export(settings: Settings, records: list[bytes]) -> None:
    drop(settings, "landing/crm/donors-2026-11-21.csv", corpus_crm_export(records))


def crm_export(donors: list[tuple[str, str, str, bool, datetime]]) -> str:
    """A CRM export of (donor_id, name, email, is_major_donor, updated_at) rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CRM_EXPORT_COLUMNS)
    for donor_id, name, email, is_major, updated_at in donors:
        writer.writerow(
            (donor_id, name, email, "94601", str(is_major).lower(), updated_at.isoformat())
        )
    return out.getvalue()


def corpus_crm_export(records: list[bytes]) -> str:
    """A CRM export of every fifth donor the corpus upserts, a day after the corpus, with the
    major-donor flag flipped: newer than the stream's versions, so it becomes current."""
    donors: dict[str, tuple[str, str, str, bool]] = {}
    for data in records:
        if validate_record(data):
            continue
        event = json.loads(data)
        if event["event_type"] == "crm.donor_upserted":
            payload = event["payload"]
            donors.setdefault(
                payload["donor_id"],
                (payload["donor_id"], payload["name"], payload["email"], payload["is_major_donor"]),
            )
    changed = CORPUS_START + timedelta(days=1)
    chosen = sorted(donors.values())[::5]
    return crm_export(
        [(donor, name, email, not major, changed) for donor, name, email, major in chosen]
    )

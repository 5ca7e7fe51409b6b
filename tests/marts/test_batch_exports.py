"""CRM and settlement exports feed the marts through the batch load, on the real path.

Files go under the test bucket's landing prefixes, `load_batches` loads them as `accfb
load-batch` and the batch DAGs do, and dbt builds what the streaming refresh builds.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.batch.loads import load_batches
from ingestion.config import aws, dbt, s3_access
from ingestion.config.s3_access import run_load, write_manifest
from ingestion.config.settings import Settings
from ingestion.contract import check_event, partition_key
from ingestion.demo.simulator.truth import expected_outcome
from ingestion.landing.lander import StreamLander
from ingestion.produce.publish import publish_records
from tests.marts.support import corpus, crm_export, drop, drop_settlement_export
from tests.support import query

# The local default key of the PII hash (Settings.pii_hash_key).
LOCAL_PII_KEY = b"local-only-not-a-secret"
CRM_KEY = "landing/crm/donors-2026-11-21.csv"


def _upsert(donor_id: str, email: str, is_major: bool, updated_at: datetime) -> bytes:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "crm.donor_upserted",
        "schema_version": 1,
        "source": "crm",
        "occurred_at": updated_at.isoformat(),
        "emitted_at": (updated_at + timedelta(seconds=1)).isoformat(),
        "payload": {
            "donor_id": donor_id,
            "name": "Stream Name",
            "email": email,
            "postal_code": "94601",
            "is_major_donor": is_major,
            "updated_at": updated_at.isoformat(),
        },
    }
    check_event(event)
    return json.dumps(event).encode()


def _stream(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]
    StreamLander(settings, aws.client("kinesis", settings)).land_once()


def _donor_history(settings: Settings) -> list[tuple[Any, ...]]:
    return query(
        settings,
        """
        select donor_id, valid_from, is_major_donor, is_current, email_hash, event_id
        from marts.dim_donors order by donor_id, valid_from
        """,
    )


def _email_hash(email: str) -> str:
    return hmac.new(LOCAL_PII_KEY, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def test_crm_export_versions_take_their_place_in_donor_history_by_updated_at(
    provisioned: Settings,
) -> None:
    day = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    _stream(
        provisioned,
        [
            _upsert("dnr-newer", "newer@example.org", False, day),
            _upsert("dnr-older", "older@example.org", False, day),
        ],
    )
    dbt.build_streaming_models(provisioned)

    # The export is newer than the stream for one donor and older for the other.
    export = crm_export(
        [
            ("dnr-newer", "Export Name", " Changed@Example.org ", True, day + timedelta(days=1)),
            ("dnr-older", "Export Name", "older@example.org", True, day - timedelta(days=1)),
        ]
    )
    drop(provisioned, CRM_KEY, export)
    assert [(r.source, r.files, r.skipped) for r in load_batches(provisioned, ["crm"])] == [
        ("crm", 1, 0)
    ]
    dbt.build_streaming_models(provisioned)

    export_row = f"{s3_access.s3_url(provisioned.raw_bucket, CRM_KEY)}:"
    history = _donor_history(provisioned)
    assert [row[:4] for row in history] == [
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-newer", datetime(2026, 11, 20, 12, 0), False, False),  # noqa: DTZ001
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-newer", datetime(2026, 11, 21, 12, 0), True, True),  # noqa: DTZ001
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-older", datetime(2026, 11, 19, 12, 0), True, False),  # noqa: DTZ001
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-older", datetime(2026, 11, 20, 12, 0), False, True),  # noqa: DTZ001
    ]
    assert [row[5].startswith(export_row) for row in history] == [False, True, True, False]
    # The export's email reaches the mart only as the keyed hash of its normalised form.
    assert history[1][4] == _email_hash("changed@example.org")
    assert not any("@" in str(value) for row in history for value in row)

    # A stream upsert newer than the export wins in turn.
    _stream(
        provisioned, [_upsert("dnr-newer", "newer@example.org", False, day + timedelta(days=2))]
    )
    dbt.build_streaming_models(provisioned)
    current = [row[:4] for row in _donor_history(provisioned) if row[3]]
    assert current == [
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-newer", datetime(2026, 11, 22, 12, 0), False, True),  # noqa: DTZ001
        # DTZ001: DuckDB returns timestamp columns as naive UTC datetimes.
        ("dnr-older", datetime(2026, 11, 20, 12, 0), False, True),  # noqa: DTZ001
    ]


def test_loading_the_same_crm_export_again_changes_nothing(provisioned: Settings) -> None:
    day = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    _stream(provisioned, [_upsert("dnr-1", "a@example.org", False, day)])
    drop(
        provisioned,
        CRM_KEY,
        crm_export([("dnr-1", "A Name", "a@example.org", True, day + timedelta(days=1))]),
    )
    load_batches(provisioned, ["crm"])
    dbt.build_streaming_models(provisioned)
    before = query(provisioned, "select * from marts.dim_donors")
    landed = query(provisioned, "select count(*) from lander.crm_donor_exports")

    # Again through the CLI's path (the file is known and skipped), then straight through the
    # load macro, whose own guard is what keeps a Redshift load from adding the file twice.
    assert [(r.files, r.skipped) for r in load_batches(provisioned, ["crm"])] == [(1, 1)]
    s3 = aws.client("s3", provisioned)
    run_load(
        provisioned,
        "load_csv_object",
        {
            "table": "lander.crm_donor_exports",
            "manifest_url": write_manifest(s3, provisioned.raw_bucket, "batch/crm", [CRM_KEY]),
            "source_url": s3_access.s3_url(provisioned.raw_bucket, CRM_KEY),
            "etag": s3.head_object(Bucket=provisioned.raw_bucket, Key=CRM_KEY)["ETag"].strip('"'),
        },
    )
    dbt.build_streaming_models(provisioned)

    assert query(provisioned, "select count(*) from lander.crm_donor_exports") == landed
    assert query(provisioned, "select * from marts.dim_donors") == before


def _reconciliation(settings: Settings) -> list[tuple[Any, ...]]:
    return query(
        settings,
        """
        select processor, processor_txn_id, reconciliation_status, settlement_gross_cents,
            settlement_net_cents
        from marts.rpt_settlement_reconciliation
        """,
    )


def test_a_settlement_resent_in_a_later_export_counts_once_with_its_latest_amounts(
    provisioned: Settings,
) -> None:
    records = corpus()
    _stream(provisioned, records)
    export = drop_settlement_export(provisioned, records)
    load_batches(provisioned, ["settlements"])
    dbt.build_streaming_models(provisioned)

    first = _reconciliation(provisioned)
    assert Counter(row[2] for row in first) == export.expected_statuses
    assert {
        "matched",
        "missing_in_settlement",
        "missing_in_donations",
        "amount_mismatch",
    } <= set(export.expected_statuses)

    # The next day's export re-sends each short settlement, corrected to the gift's gross.
    gifts = {
        (d.processor, d.processor_txn_id): d for d in expected_outcome(records).donations.values()
    }
    rows = list(csv.DictReader(io.StringIO(export.csv)))
    short = [
        row
        for row in rows
        if (key := (row["processor"], row["processor_txn_id"])) in gifts
        and 0 <= int(row["gross_cents"]) != gifts[key].gross_amount_cents
    ]
    assert len(short) == export.expected_statuses["amount_mismatch"]
    resent = io.StringIO()
    writer = csv.DictWriter(resent, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in short:
        gross = gifts[(row["processor"], row["processor_txn_id"])].gross_amount_cents
        writer.writerow({**row, "gross_cents": gross, "net_cents": gross - int(row["fee_cents"])})
    drop(provisioned, "landing/settlements/2026-11-23.csv", resent.getvalue())
    load_batches(provisioned, ["settlements"])
    dbt.build_streaming_models(provisioned)

    second = _reconciliation(provisioned)
    statuses = Counter(row[2] for row in second)
    assert len(second) == len(first)
    assert statuses["amount_mismatch"] == 0
    assert statuses["matched"] == export.expected_statuses["matched"] + len(short)
    [(daily_settled,)] = query(
        provisioned, "select sum(settled_net_cents) from marts.rpt_daily_close"
    )
    assert daily_settled == sum(row[4] for row in second if row[4] is not None)


def test_a_header_only_correction_of_an_older_export_withdraws_its_settlements_at_the_next_refresh(
    provisioned: Settings,
) -> None:
    """The withdrawal lands no row, and a later export holds the landing's newest load: only the
    export ledger shows the refresh that something changed."""
    records = corpus()
    _stream(provisioned, records)
    export = drop_settlement_export(provisioned, records)  # key A
    load_batches(provisioned, ["settlements"])
    dbt.build_streaming_models(provisioned)
    header, *rows = export.csv.splitlines()
    kept = rows[:2]
    drop(provisioned, "landing/settlements/2026-11-23.csv", "\n".join([header, *kept]) + "\n")
    load_batches(provisioned, ["settlements"])
    dbt.build_streaming_models(provisioned)

    drop(provisioned, "landing/settlements/2026-11-22.csv", header + "\n")  # A, withdrawn
    load_batches(provisioned, ["settlements"])
    dbt.build_streaming_models(provisioned)

    kept_legs = csv.DictReader([header, *kept])
    expected = {(row["processor"], row["processor_txn_id"]) for row in kept_legs}
    assert len(expected) == len(kept)
    staged = query(
        provisioned,
        """
        select processor, processor_txn_id from staging.stg_processor__settlements
        where not is_withdrawn
        """,
    )
    assert set(staged) == expected
    settled = query(
        provisioned,
        """
        select processor, processor_txn_id from marts.rpt_settlement_reconciliation
        where settlement_gross_cents is not null
        """,
    )
    assert set(settled) == expected

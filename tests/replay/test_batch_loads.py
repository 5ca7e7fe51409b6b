"""CSV exports dropped in the bucket land once each, typed, and a rerun changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion import aws
from ingestion.batch_loads import load_batches
from ingestion.settings import Settings
from tests.replay.support import query

SETTLEMENTS = (
    "processor,processor_txn_id,gross_cents,fee_cents,net_cents,payout_id,settled_at\n"
    "stripe,txn_1,2500,103,2397,po_1,2026-11-20T18:00:00Z\n"
    "stripe,txn_2,-1000,0,-1000,po_1,2026-11-20T18:05:00+00:00\n"
)
MORE_SETTLEMENTS = (
    "processor,processor_txn_id,gross_cents,fee_cents,net_cents,payout_id,settled_at\n"
    "paypal,txn_3,10000,320,9680,po_2,2026-11-21T09:00:00Z\n"
)
CRM = (
    "donor_id,name,email,postal_code,is_major_donor,updated_at\n"
    "d_1,Ada Lovelace,ada@example.org,94601,true,2026-11-19T10:00:00Z\n"
)


def _drop(settings: Settings, key: str, text: str) -> None:
    aws.client("s3", settings).put_object(Bucket=settings.raw_bucket, Key=key, Body=text.encode())


def test_dropped_exports_load_once_each_with_contract_types(provisioned: Settings) -> None:
    _drop(provisioned, "landing/settlements/2026-11-20.csv", SETTLEMENTS)
    _drop(provisioned, "landing/crm/donors-2026-11-19.csv", CRM)

    reports = load_batches(provisioned)
    assert [(r.source, r.files, r.skipped) for r in reports] == [
        ("crm", 1, 0),
        ("settlements", 1, 0),
    ]

    # A second run, and a new file dropped meanwhile: only the new file loads.
    _drop(provisioned, "landing/settlements/2026-11-21.csv", MORE_SETTLEMENTS)
    load_batches(provisioned)
    load_batches(provisioned, ["settlements"])

    rows = query(
        provisioned,
        """
        select processor_txn_id, gross_cents, fee_cents, net_cents, settled_at, source_key,
            source_row_number
        from lander.processor_settlements order by processor_txn_id
        """,
    )
    bucket = provisioned.raw_bucket
    assert rows == [
        (
            "txn_1",
            2500,
            103,
            2397,
            datetime(2026, 11, 20, 18, 0, tzinfo=UTC),
            f"s3://{bucket}/landing/settlements/2026-11-20.csv",
            1,
        ),
        (
            "txn_2",
            -1000,
            0,
            -1000,
            datetime(2026, 11, 20, 18, 5, tzinfo=UTC),
            f"s3://{bucket}/landing/settlements/2026-11-20.csv",
            2,
        ),
        (
            "txn_3",
            10000,
            320,
            9680,
            datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
            f"s3://{bucket}/landing/settlements/2026-11-21.csv",
            1,
        ),
    ]
    assert query(
        provisioned, "select donor_id, is_major_donor, updated_at from lander.crm_donor_exports"
    ) == [("d_1", True, datetime(2026, 11, 19, 10, 0, tzinfo=UTC))]

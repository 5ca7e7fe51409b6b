"""CSV exports dropped in the bucket land once each, typed, and a rerun changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from ingestion.batch.loads import load_batches
from ingestion.config import aws
from ingestion.config.settings import Settings
from tests.support import query

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
    assert [(r.source, r.files, r.skipped, r.refused) for r in reports] == [
        ("crm", 1, 0, {}),
        ("settlements", 1, 0, {}),
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


def test_a_bad_file_is_refused_with_its_reason_and_the_good_ones_still_load(
    provisioned: Settings,
) -> None:
    swapped = SETTLEMENTS.replace("gross_cents,fee_cents", "fee_cents,gross_cents", 1)
    not_a_number = MORE_SETTLEMENTS.replace("10000", "ten thousand")
    _drop(provisioned, "landing/settlements/a-swapped.csv", swapped)
    _drop(provisioned, "landing/settlements/b-good.csv", MORE_SETTLEMENTS)
    _drop(provisioned, "landing/settlements/c-not-a-number.csv", not_a_number)

    (report,) = load_batches(provisioned, ["settlements"])

    assert (report.files, report.skipped) == (3, 0)
    assert sorted(report.refused) == [
        "landing/settlements/a-swapped.csv",
        "landing/settlements/c-not-a-number.csv",
    ]
    assert (
        "its header is [processor, processor_txn_id, fee_cents, gross_cents"
        in (report.refused["landing/settlements/a-swapped.csv"])
    )
    assert "ten thousand" in report.refused["landing/settlements/c-not-a-number.csv"]
    assert query(
        provisioned,
        "select processor_txn_id, source_key from lander.processor_settlements",
    ) == [("txn_3", f"s3://{provisioned.raw_bucket}/landing/settlements/b-good.csv")]

    # Nothing was half-loaded: fixed files dropped under new names load in full.
    _drop(provisioned, "landing/settlements/d-fixed.csv", SETTLEMENTS)
    (again,) = load_batches(provisioned, ["settlements"])
    assert sorted(again.refused) == sorted(report.refused)
    assert len(query(provisioned, "select * from lander.processor_settlements")) == 3


HOSTILE_KEYS = [
    "landing/crm/x.csv'); drop table lander.crm_donor_exports; --.csv",
    "landing/crm/it's.csv",
    "landing/crm/back\\slash.csv",
    "landing/crm/with space.csv",
]
# Keys the local endpoint will not store, refused by the pattern all the same.
UNSTORABLE_KEYS = ["landing/crm/../escape.csv", "landing/crm/new\nline.csv"]


def test_a_key_that_is_not_an_export_name_is_refused_before_any_sql(
    provisioned: Settings,
) -> None:
    _drop(provisioned, "landing/crm/a-good.csv", CRM)
    (first,) = load_batches(provisioned, ["crm"])
    assert first.refused == {}
    for key in HOSTILE_KEYS:
        _drop(provisioned, key, CRM.replace("d_1", "d_evil"))
    _drop(provisioned, "landing/crm/2026/11/b-good_v2.csv", CRM.replace("d_1", "d_2"))

    (report,) = load_batches(provisioned, ["crm"])

    assert sorted(report.refused) == sorted(HOSTILE_KEYS)
    assert all("not an export name" in why for why in report.refused.values())
    # The table the injected key names is intact and holds exactly the good files' rows.
    assert sorted(query(provisioned, "select donor_id from lander.crm_donor_exports")) == [
        ("d_1",),
        ("d_2",),
    ]


def test_every_loadable_key_is_one_sql_literal_after_quoting() -> None:
    from ingestion.batch.sources import BATCH_SOURCES

    crm = BATCH_SOURCES["crm"]
    assert crm.key_problem("landing/crm/2026-11-20/donors_export=1.CSV") is None
    assert crm.key_problem("landing/settlements/a.csv") == "the key is not under landing/crm/"
    for key in HOSTILE_KEYS + UNSTORABLE_KEYS:
        assert crm.key_problem(key) is not None, key

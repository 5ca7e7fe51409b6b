"""CSV exports dropped in the bucket land once per version, typed, and a rerun changes nothing;
only a bad file is refused, a warehouse that fails for a moment is retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tenacity import wait_none

from ingestion.batch import loads
from ingestion.batch.loads import BatchLoadFailed, load_batches
from ingestion.config import aws, warehouse
from ingestion.config.dbt import DbtError, DbtResult
from ingestion.config.s3_access import run_load, write_manifest
from ingestion.config.settings import Settings
from ingestion.operations.alerts import alerts_path
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


CORRECTED_SETTLEMENTS = (
    "processor,processor_txn_id,gross_cents,fee_cents,net_cents,payout_id,settled_at\n"
    "stripe,txn_1,2400,99,2301,po_1,2026-11-20T18:00:00Z\n"
)
SETTLEMENTS_KEY = "landing/settlements/2026-11-20.csv"


def _ledger(settings: Settings) -> list[tuple[Any, ...]]:
    return query(
        settings,
        "select source_key, rows_loaded, load_seq, outcome from lander.batch_export_ledger "
        "order by load_seq",
    )


def _alerts(settings: Settings) -> list[dict[str, Any]]:
    path = alerts_path(settings)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_corrected_export_over_a_loaded_key_replaces_it_as_a_new_version_and_alerts(
    provisioned: Settings,
) -> None:
    _drop(provisioned, SETTLEMENTS_KEY, SETTLEMENTS)
    (first,) = load_batches(provisioned, ["settlements"])
    assert (first.files, first.skipped, first.corrected) == (1, 0, ())

    # The processor re-exports the day over the same key: txn_1 corrected, txn_2 withdrawn.
    _drop(provisioned, SETTLEMENTS_KEY, CORRECTED_SETTLEMENTS)
    (second,) = load_batches(provisioned, ["settlements"])

    assert (second.files, second.skipped, second.refused) == (1, 0, {})
    assert second.corrected == (SETTLEMENTS_KEY,)
    url = f"s3://{provisioned.raw_bucket}/{SETTLEMENTS_KEY}"
    # Only the corrected version's rows, under a number past the first load's.
    assert query(
        provisioned,
        "select processor_txn_id, gross_cents, net_cents, load_seq "
        "from lander.processor_settlements",
    ) == [("txn_1", 2400, 2301, 2)]
    assert _ledger(provisioned) == [(url, 2, 1, "new"), (url, 1, 2, "corrected")]
    (alert,) = _alerts(provisioned)
    assert alert["runbook"] == "batch-export-corrected"
    assert SETTLEMENTS_KEY in alert["summary"]

    # The corrected version is now the known one: a rerun skips it and alerts no more.
    (third,) = load_batches(provisioned, ["settlements"])
    assert (third.skipped, third.corrected) == (1, ())
    assert len(_ledger(provisioned)) == 2
    assert len(_alerts(provisioned)) == 1


def test_the_load_macro_skips_a_known_version_before_reading_the_file(
    provisioned: Settings,
) -> None:
    """The guard is in the macro (what a Redshift load runs), ahead of any COPY: a known key and
    ETag is not read at all, so a file gone from the bucket does not even fail it."""
    _drop(provisioned, SETTLEMENTS_KEY, SETTLEMENTS)
    load_batches(provisioned, ["settlements"])
    s3 = aws.client("s3", provisioned)
    etag = s3.head_object(Bucket=provisioned.raw_bucket, Key=SETTLEMENTS_KEY)["ETag"].strip('"')
    manifest = write_manifest(s3, provisioned.raw_bucket, "batch/settlements", [SETTLEMENTS_KEY])
    s3.delete_object(Bucket=provisioned.raw_bucket, Key=SETTLEMENTS_KEY)

    result = run_load(
        provisioned,
        "load_csv_object",
        {
            "table": "lander.processor_settlements",
            "manifest_url": manifest,
            "source_url": f"s3://{provisioned.raw_bucket}/{SETTLEMENTS_KEY}",
            "etag": etag,
        },
    )

    assert any('"outcome": "unchanged"' in line for line in result.logs), result.logs
    assert len(query(provisioned, "select * from lander.processor_settlements")) == 2
    assert len(_ledger(provisioned)) == 1


def test_a_file_loaded_before_the_ledger_is_adopted_without_loading_it_again(
    provisioned: Settings,
) -> None:
    _drop(provisioned, SETTLEMENTS_KEY, SETTLEMENTS)
    load_batches(provisioned, ["settlements"])
    # As a warehouse loaded by the key-only guard stands: rows, no ledger.
    with warehouse.connect(provisioned.warehouse_path) as con:
        con.execute("drop table lander.batch_export_ledger")

    (report,) = load_batches(provisioned, ["settlements"])

    assert (report.skipped, report.corrected) == (0, ())
    url = f"s3://{provisioned.raw_bucket}/{SETTLEMENTS_KEY}"
    assert _ledger(provisioned) == [(url, 2, 1, "adopted")]
    assert len(query(provisioned, "select * from lander.processor_settlements")) == 2
    (again,) = load_batches(provisioned, ["settlements"])
    assert again.skipped == 1


LOCK_CONFLICT = (
    'IO Error: Could not set lock on file "warehouse.duckdb": Conflicting lock is held in '
    "python (PID 1234)"
)


class _FailsFirst:
    """The real load, after ``times`` failures the way a held warehouse fails dbt."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    def __call__(self, settings: Settings, macro: str, args: dict[str, Any]) -> DbtResult:
        self.calls += 1
        if self.calls <= self.times:
            raise DbtError("run-operation load_csv_object", LOCK_CONFLICT)
        return run_load(settings, macro, args)


def test_a_transient_warehouse_error_is_retried_not_reported_as_a_refused_file(
    provisioned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loads._load_one.retry, "wait", wait_none())  # type: ignore[attr-defined]
    flaky = _FailsFirst(times=2)
    monkeypatch.setattr(loads, "run_load", flaky)
    _drop(provisioned, SETTLEMENTS_KEY, SETTLEMENTS)

    (report,) = load_batches(provisioned, ["settlements"])

    assert report.refused == {}
    assert flaky.calls == 3
    assert len(query(provisioned, "select * from lander.processor_settlements")) == 2


def test_a_warehouse_error_that_persists_fails_the_load_for_a_retry_and_refuses_nothing(
    provisioned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loads._load_one.retry, "wait", wait_none())  # type: ignore[attr-defined]
    monkeypatch.setattr(loads, "run_load", _FailsFirst(times=100))
    _drop(provisioned, SETTLEMENTS_KEY, SETTLEMENTS)

    with pytest.raises(BatchLoadFailed, match="Conflicting lock"):
        load_batches(provisioned, ["settlements"])

    # Nothing was recorded against the file: once the warehouse answers, it loads.
    monkeypatch.setattr(loads, "run_load", run_load)
    (report,) = load_batches(provisioned, ["settlements"])
    assert report.refused == {}
    assert len(query(provisioned, "select * from lander.processor_settlements")) == 2


@pytest.mark.parametrize(
    ("detail", "bad_file"),
    [
        ("s3://b/k.csv was not loaded: its header is [a, b], the export's columns are [..]", True),
        (
            "Conversion Error: CSV Error on Line: 2 Could not convert string 'x' to 'BIGINT'",
            True,
        ),
        ("Load into table 'csv_batch' failed. Check 'stl_load_errors' system table", True),
        (LOCK_CONFLICT, False),
        ("IO Error: Connection error for HTTP HEAD to 'http://127.0.0.1:4566/b/k.csv'", False),
        ("could not connect to server: Connection refused", False),
    ],
)
def test_only_a_fault_of_the_file_counts_as_a_bad_file(detail: str, bad_file: bool) -> None:
    assert loads.is_bad_file(detail) is bad_file

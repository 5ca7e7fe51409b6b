"""The archive's errors/ prefix is read: every record the transform failed, with its bytes."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.archive.errors import failed_records, read_object
from ingestion.config import aws
from ingestion.config.settings import Settings
from tests.support import write_processing_failed

ARRIVAL = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def test_a_failed_record_comes_back_with_its_bytes_arrival_and_code(provisioned: Settings) -> None:
    records = [b'{"event_id": "a"}', b"\xff not utf-8", b"[" * 10_000]
    key = write_processing_failed(provisioned, records, ARRIVAL)

    failed = list(failed_records(aws.client("s3", provisioned), provisioned.raw_bucket))

    assert [f.data for f in failed] == records
    assert {(f.key, f.arrived_at, f.error_code) for f in failed} == {
        (key, ARRIVAL, "Lambda.ProcessingFailed")
    }


def test_only_objects_written_since_a_time_are_read_when_asked(provisioned: Settings) -> None:
    write_processing_failed(provisioned, [b"x"], ARRIVAL)
    s3: Any = aws.client("s3", provisioned)
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert list(failed_records(s3, provisioned.raw_bucket, written_since=later)) == []
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    assert len(list(failed_records(s3, provisioned.raw_bucket, written_since=earlier))) == 1


def test_an_unreadable_line_or_object_is_still_counted() -> None:
    good = json.dumps({"arrivalTimestamp": 0, "errorCode": "E", "rawData": "eA=="}).encode()
    plain = read_object(
        "k", good + b"\nnot json\n[1]\n" + b'{"rawData": "!!", "arrivalTimestamp": 1e300}'
    )
    assert [(f.error_code, f.data) for f in plain] == [
        ("E", b"x"),
        ("unreadable", b""),
        ("unreadable", b""),
        ("unknown", b""),
    ]
    assert plain[3].arrived_at is None
    assert [f.data for f in read_object("k", gzip.compress(good))] == [b"x"]
    assert [f.error_code for f in read_object("k", b"\x1f\x8b broken gzip")] == ["unreadable"]

"""Firehose's transform in AWS and the local archiver write the same line for the same record."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from ingestion.archive.archiver import archive_record_line
from ingestion.archive.format import handler

ARRIVAL = datetime(2026, 11, 24, 17, 4, 48, 653000, tzinfo=UTC)
GIFT = b'{"event_id":"e1","source":"donation_platform","payload":{"amount_cents":500}}'


def _firehose_event(data: bytes) -> dict[str, object]:
    return {
        "invocationId": "i",
        "records": [
            {
                "recordId": "r1",
                "approximateArrivalTimestamp": 1764003900000,
                "data": base64.b64encode(data).decode(),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000001",
                    "partitionKey": "d-1",
                    "approximateArrivalTimestamp": int(ARRIVAL.timestamp() * 1000),
                    "sequenceNumber": "49656",
                    "subsequenceNumber": 0,
                },
            }
        ],
    }


def test_the_transform_writes_the_local_archivers_line_and_partition() -> None:
    (result,) = handler(_firehose_event(GIFT), None)["records"]

    local = archive_record_line(
        "shardId-000000000001",
        {
            "SequenceNumber": "49656",
            "ApproximateArrivalTimestamp": ARRIVAL,
            "PartitionKey": "d-1",
            "Data": GIFT,
        },
    )
    assert result["recordId"] == "r1" and result["result"] == "Ok"
    assert base64.b64decode(result["data"]) == local + b"\n"
    assert json.loads(local)["kinesis_data"] == GIFT.decode()
    assert result["metadata"]["partitionKeys"] == {
        "source": "donation_platform",
        "date": "2026-11-24",
        "hour": "17",
    }


def test_a_record_that_is_not_json_is_archived_under_source_unknown() -> None:
    (result,) = handler(_firehose_event(b"\xff{not json"), None)["records"]

    line = json.loads(base64.b64decode(result["data"]))
    assert line["kinesis_data"] == "\ufffd{not json"
    assert result["metadata"]["partitionKeys"]["source"] == "unknown"


def _with_records(*records: dict[str, object]) -> dict[str, object]:
    template = _firehose_event(GIFT)["records"][0]  # type: ignore[index]
    return {"invocationId": "i", "records": [{**template, **r} for r in records]}  # type: ignore[dict-item]


def test_absurd_nesting_is_archived_under_unknown_not_a_failed_batch() -> None:
    deep = b"[" * 100_000
    event = _with_records(
        {"recordId": "good-1"},
        {"recordId": "deep", "data": base64.b64encode(deep).decode()},
        {"recordId": "huge-int", "data": base64.b64encode(b'{"a":' + b"9" * 5000 + b"}").decode()},
        {"recordId": "good-2"},
    )
    results = {r["recordId"]: r for r in handler(event, None)["records"]}
    assert [r["result"] for r in results.values()] == ["Ok"] * 4
    assert results["deep"]["metadata"]["partitionKeys"]["source"] == "unknown"
    assert json.loads(base64.b64decode(results["deep"]["data"]))["kinesis_data"] == deep.decode()
    assert results["good-2"]["metadata"]["partitionKeys"]["source"] == "donation_platform"


def test_only_the_record_the_transform_cannot_read_is_processing_failed() -> None:
    event = _with_records(
        {"recordId": "good-1"},
        {"recordId": "not-base64", "data": "%%%not base64%%%"},
        {"recordId": "no-metadata", "kinesisRecordMetadata": {}},
        {
            "recordId": "far-future",
            "kinesisRecordMetadata": {"approximateArrivalTimestamp": 10**20},
        },
        {"recordId": "good-2"},
    )
    results = handler(event, None)["records"]
    assert [(r["recordId"], r["result"]) for r in results] == [
        ("good-1", "Ok"),
        ("not-base64", "ProcessingFailed"),
        ("no-metadata", "ProcessingFailed"),
        ("far-future", "ProcessingFailed"),
        ("good-2", "Ok"),
    ]
    # Firehose keeps a failed record's data as it came, for the errors/ prefix.
    assert results[1]["data"] == "%%%not base64%%%"


def test_a_record_that_repeats_a_key_the_contract_reads_is_processing_failed_alone() -> None:
    # Redshift's landing cannot see the repeat; the errors/ prefix (and its alarm) can.
    from ingestion.archive.format import CONTRACT_OBJECTS
    from ingestion.contract.validation import OBJECT_PATHS

    assert tuple(OBJECT_PATHS) == CONTRACT_OBJECTS
    text = GIFT.decode()
    repeated = text.replace('"amount_cents":500', '"amount_cents":500,"amount_cents":1')
    assert repeated != text
    extra = text[:-1] + ', "extra": {"k": 1, "k": 2}}'
    event = _with_records(
        {"recordId": "good-1"},
        {"recordId": "repeated", "data": base64.b64encode(repeated.encode()).decode()},
        {"recordId": "extra", "data": base64.b64encode(extra.encode()).decode()},
    )
    results = {r["recordId"]: r for r in handler(event, None)["records"]}
    assert {k: r["result"] for k, r in results.items()} == {
        "good-1": "Ok",
        "repeated": "ProcessingFailed",
        "extra": "Ok",  # a repeat inside an unknown extra field is kept as sent
    }
    assert base64.b64decode(results["repeated"]["data"]) == repeated.encode()

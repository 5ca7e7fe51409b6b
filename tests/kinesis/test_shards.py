"""The one shard reader against the real local stream: pages in order, expiry renewed from the
caller's position (never from wherever reading had got to), exact ranges."""

from __future__ import annotations

from typing import Any

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.kinesis.shards import ShardReader
from tests.kinesis.faults import FailingReads


def _put(settings: Settings, n: int) -> None:
    kinesis = aws.client("kinesis", settings)
    for start in range(0, n, 500):
        kinesis.put_records(
            StreamName=settings.stream_name,
            Records=[
                {"Data": f"r{i}".encode(), "PartitionKey": "one-shard"}
                for i in range(start, min(n, start + 500))
            ],
        )


def _shard_with_records(reader: ShardReader) -> str:
    for shard_id in reader.shard_ids():
        page = reader.read(shard_id, None)
        if page is not None and page.records:
            reader.forget()
            return shard_id
    raise AssertionError("no shard holds records")


def _drain(reader: ShardReader, shard_id: str, after: str | None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    while True:
        page = reader.read(shard_id, records[-1]["SequenceNumber"] if records else after)
        if page is None:
            continue
        records.extend(page.records)
        if page.done:
            return records


def test_a_shard_is_read_page_by_page_in_order_until_drained(provisioned: Settings) -> None:
    _put(provisioned, 250)
    reader = ShardReader(aws.client("kinesis", provisioned), provisioned.stream_name,
                         records_per_call=40)  # fmt: skip
    shard_id = _shard_with_records(reader)
    records = _drain(reader, shard_id, None)
    assert [r["Data"] for r in records] == [f"r{i}".encode() for i in range(250)]


def test_an_expired_iterator_is_renewed_after_the_callers_position(provisioned: Settings) -> None:
    _put(provisioned, 100)
    kinesis = aws.client("kinesis", provisioned)
    shard_id = _shard_with_records(ShardReader(kinesis, provisioned.stream_name))
    reader = ShardReader(
        FailingReads(kinesis, {3: "expired"}), provisioned.stream_name, records_per_call=30
    )
    first = reader.read(shard_id, None)
    second = reader.read(shard_id, None)
    assert first is not None and second is not None
    assert reader.read(shard_id, None) is None  # the iterator expired
    # The caller kept only the first page: renewal resumes right after it.
    kept = first.records[-1]["SequenceNumber"]
    resumed = reader.read(shard_id, kept)
    assert resumed is not None
    assert resumed.records[0]["Data"] == second.records[0]["Data"] == b"r30"


def test_read_range_returns_exactly_the_range(provisioned: Settings) -> None:
    _put(provisioned, 60)
    kinesis = aws.client("kinesis", provisioned)
    reader = ShardReader(kinesis, provisioned.stream_name, records_per_call=7)
    shard_id = _shard_with_records(reader)
    records = _drain(reader, shard_id, None)
    first, last = records[10]["SequenceNumber"], records[20]["SequenceNumber"]
    ranged = reader.read_range(shard_id, first, last)
    assert [r["Data"] for r in ranged] == [f"r{i}".encode() for i in range(10, 21)]

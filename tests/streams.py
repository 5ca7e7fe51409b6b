"""Reading a whole test stream back, to see exactly what Kinesis holds."""

from __future__ import annotations

from typing import Any

from ingestion.config import aws
from ingestion.config.settings import Settings


def read_stream(settings: Settings) -> list[tuple[str, str, bytes]]:
    """Every record on the stream as (shard_id, sequence_number, data)."""
    kinesis: Any = aws.client("kinesis", settings)
    found: list[tuple[str, str, bytes]] = []
    for shard in kinesis.list_shards(StreamName=settings.stream_name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=settings.stream_name,
            ShardId=shard["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            found.extend(
                (shard["ShardId"], r["SequenceNumber"], r["Data"]) for r in page["Records"]
            )
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return found

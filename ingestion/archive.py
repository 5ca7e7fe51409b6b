"""Local stand-in for Firehose's raw archive of the stream (moto's Firehose reads no stream).

Every record is written once, as a gzip JSON line that carries the record's text and its stream
metadata, so a replayed row is indistinguishable from a streamed one:

    raw/source=<source>/date=YYYY-MM-DD/hour=HH/<shard>-<first seq>-<last seq>.json.gz

The date and hour are the record's arrival on the stream; ``first seq``-``last seq`` is the
range of the *batch* the object came from (one read pass over one shard), the same in every
object the batch was split into. That range is the archiver's checkpoint: on start it lists the
objects already written, takes each shard's last batch, re-reads exactly that range and writes
it again with a no-overwrite put. Objects that were written are refused (S3 answers 412, the
bucket is object-locked anyway), the ones a crash left out are written, and reading resumes
after the batch: nothing lost, nothing archived twice.
"""

from __future__ import annotations

import gzip
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from infra.settings import RETENTION
from ingestion.archive_format import archive_line, record_source
from ingestion.settings import Settings

log = logging.getLogger(__name__)

RAW_PREFIX = "raw/"
CONTRACT_SOURCES = ("donation_platform", "crm", "warehouse", "partner_api")

_PARTITION = re.compile(
    r"^raw/source=(?P<source>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<name>[^/]+\.json\.gz)$"
)
# Objects this archiver writes; Firehose names its own (stream, time, uuid), so in AWS the
# name says nothing about the stream positions inside.
_NAME = re.compile(r"^(?P<shard>.+)-(?P<first>\d+)-(?P<last>\d+)\.json\.gz$")


@dataclass(frozen=True)
class ArchiveKey:
    """What an archive object's key says about its records."""

    key: str
    source: str
    hour: datetime
    # The batch's shard and sequence range when this archiver wrote it; None for Firehose's.
    shard_id: str | None
    first_sequence: str | None
    last_sequence: str | None

    def holds(self, shard_id: str, sequence_number: str) -> bool:
        if self.first_sequence is None or self.last_sequence is None:
            return False
        return shard_id == self.shard_id and (
            int(self.first_sequence) <= int(sequence_number) <= int(self.last_sequence)
        )


def parse_key(key: str) -> ArchiveKey | None:
    match = _PARTITION.match(key)
    if match is None:
        return None
    hour = datetime.strptime(f"{match['date']} {match['hour']}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    name = _NAME.match(match["name"])
    if name is None:
        return ArchiveKey(key, match["source"], hour, None, None, None)
    return ArchiveKey(key, match["source"], hour, name["shard"], name["first"], name["last"])


def partition_prefix(source: str, hour: datetime) -> str:
    hour = hour.astimezone(UTC)
    return f"{RAW_PREFIX}source={source}/date={hour:%Y-%m-%d}/hour={hour:%H}/"


def object_key(source: str, hour: datetime, shard_id: str, first: str, last: str) -> str:
    return f"{partition_prefix(source, hour)}{shard_id}-{first}-{last}.json.gz"


def archive_record_line(shard_id: str, record: dict[str, Any]) -> bytes:
    """The archive line of a record as boto3's GetRecords returns it."""
    return archive_line(
        shard_id=shard_id,
        sequence_number=record["SequenceNumber"],
        arrival=record["ApproximateArrivalTimestamp"],
        partition_key=record["PartitionKey"],
        data=record["Data"],
    )


def list_archive(s3: Any, bucket: str, prefixes: Iterable[str]) -> Iterator[ArchiveKey]:
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                parsed = parse_key(item["Key"])
                if parsed is not None:
                    yield parsed


def source_prefixes(s3: Any, bucket: str) -> list[str]:
    """Every ``raw/source=…/`` partition in the bucket (a handful: one per source)."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=RAW_PREFIX, Delimiter="/"
    )
    return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]


def recent_prefixes(s3: Any, bucket: str, now: datetime) -> list[str]:
    """The date partitions that can hold records still on the stream (its retention, a day more)."""
    days = RETENTION.stream_hours // 24 + 1
    dates = [(now - timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days + 1)]
    return [f"{p}date={d}/" for p in source_prefixes(s3, bucket) for d in dates]


@dataclass
class ArchiveStats:
    archived: int = 0
    objects_written: int = 0
    objects_refused: int = 0
    per_shard: dict[str, int] = field(default_factory=dict)


class StreamArchiver:
    """Copies the stream into the raw bucket; ``archive_once`` drains, ``run`` follows."""

    def __init__(
        self,
        settings: Settings,
        kinesis: Any,
        s3: Any,
        *,
        records_per_call: int = 10_000,
        max_batch_records: int = 50_000,
    ) -> None:
        self._settings = settings
        self._kinesis = kinesis
        self._s3 = s3
        self._limit = records_per_call
        self._max_batch = max_batch_records
        self._positions: dict[str, str] | None = None
        self._iterators: dict[str, str] = {}
        self.stats = ArchiveStats()

    def _shards(self) -> list[str]:
        shards: list[str] = []
        kwargs: dict[str, Any] = {"StreamName": self._settings.stream_name}
        while True:
            page = self._kinesis.list_shards(**kwargs)
            shards.extend(s["ShardId"] for s in page["Shards"])
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    def _recover(self) -> dict[str, str]:
        """Finish each shard's last batch (a crash may have cut it short); return positions."""
        last_batch: dict[str, tuple[str, str]] = {}
        keys = list_archive(
            self._s3,
            self._settings.raw_bucket,
            recent_prefixes(self._s3, self._settings.raw_bucket, datetime.now(UTC)),
        )
        for item in keys:
            if item.shard_id is None or item.first_sequence is None or item.last_sequence is None:
                continue
            known = last_batch.get(item.shard_id)
            if known is None or int(item.last_sequence) > int(known[1]):
                last_batch[item.shard_id] = (item.first_sequence, item.last_sequence)
        for shard_id, (first, last) in last_batch.items():
            records = self._read_range(shard_id, first, last)
            self._write_batch(shard_id, records, count=False)
        return {shard_id: last for shard_id, (_, last) in last_batch.items()}

    def _read_range(self, shard_id: str, first: str, last: str) -> list[dict[str, Any]]:
        iterator = self._kinesis.get_shard_iterator(
            StreamName=self._settings.stream_name,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=first,
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        while iterator is not None:
            response = self._kinesis.get_records(ShardIterator=iterator, Limit=self._limit)
            for record in response["Records"]:
                if int(record["SequenceNumber"]) > int(last):
                    return records
                records.append(record)
            if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
        return records

    def _iterator(self, shard_id: str, positions: dict[str, str]) -> str:
        if shard_id in self._iterators:
            return self._iterators[shard_id]
        kwargs: dict[str, Any] = {"StreamName": self._settings.stream_name, "ShardId": shard_id}
        position = positions.get(shard_id)
        if position is None:
            kwargs["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            kwargs |= {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": position,
            }
        iterator: str = self._kinesis.get_shard_iterator(**kwargs)["ShardIterator"]
        return iterator

    def _write_batch(self, shard_id: str, records: list[dict[str, Any]], *, count: bool) -> None:
        if not records:
            return
        first, last = records[0]["SequenceNumber"], records[-1]["SequenceNumber"]
        partitions: dict[tuple[str, datetime], list[bytes]] = defaultdict(list)
        for record in records:
            arrival = record["ApproximateArrivalTimestamp"].astimezone(UTC)
            hour = arrival.replace(minute=0, second=0, microsecond=0)
            partitions[(record_source(record["Data"]), hour)].append(
                archive_record_line(shard_id, record)
            )
        for (source, hour), lines in sorted(partitions.items()):
            key = object_key(source, hour, shard_id, first, last)
            body = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6)
            try:
                # No overwrite, ever: a key that exists was written by this same batch before.
                self._s3.put_object(
                    Bucket=self._settings.raw_bucket,
                    Key=key,
                    Body=body,
                    ContentType="application/x-ndjson",
                    ContentEncoding="gzip",
                    IfNoneMatch="*",
                )
                self.stats.objects_written += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                    raise
                self.stats.objects_refused += 1
        if count:
            self.stats.archived += len(records)
            self.stats.per_shard[shard_id] = self.stats.per_shard.get(shard_id, 0) + len(records)

    def archive_once(self) -> int:
        """Archive everything on the stream now; return how many records were archived."""
        if self._positions is None:
            self._positions = self._recover()
        positions = self._positions
        archived = 0
        for shard_id in self._shards():
            batch: list[dict[str, Any]] = []
            while len(batch) < self._max_batch:
                try:
                    response = self._kinesis.get_records(
                        ShardIterator=self._iterator(shard_id, positions), Limit=self._limit
                    )
                except self._kinesis.exceptions.ExpiredIteratorException:
                    self._iterators.pop(shard_id, None)
                    continue
                batch.extend(response["Records"])
                next_iterator = response.get("NextShardIterator")
                if next_iterator is None:
                    self._iterators.pop(shard_id, None)
                    break
                self._iterators[shard_id] = next_iterator
                if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                    break
            if batch:
                try:
                    self._write_batch(shard_id, batch, count=True)
                except Exception:
                    # Part of the batch may be written: start over from the checkpoint, which
                    # finishes this very batch (same range, same keys) before reading on.
                    self._positions = None
                    self._iterators.clear()
                    raise
                positions[shard_id] = batch[-1]["SequenceNumber"]
                archived += len(batch)
        return archived

    def run(self, stop: threading.Event, *, buffer_seconds: float | None = None) -> None:
        """Follow the stream until ``stop`` is set, a pass every ``buffer_seconds`` at most.

        Like Firehose's buffering hint: the archive is off the freshness path, and fewer passes
        write fewer, larger objects and leave the (local, one-request-at-a-time) endpoint to
        the lander. By default it sleeps only when every shard is drained.
        """
        while not stop.is_set():
            started = time.monotonic()
            archived = self.archive_once()
            if buffer_seconds is not None:
                stop.wait(max(0.0, buffer_seconds - (time.monotonic() - started)))
            elif archived == 0:
                stop.wait(self._settings.poll_interval_seconds)

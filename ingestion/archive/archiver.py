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
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from ingestion.archive.format import archive_line, record_source
from ingestion.archive.keys import list_archive, object_key, recent_prefixes
from ingestion.config.settings import Settings
from ingestion.kinesis.shards import ShardReader

log = logging.getLogger(__name__)


def archive_record_line(shard_id: str, record: dict[str, Any]) -> bytes:
    """The archive line of a record as boto3's GetRecords returns it."""
    return archive_line(
        shard_id=shard_id,
        sequence_number=record["SequenceNumber"],
        arrival=record["ApproximateArrivalTimestamp"],
        partition_key=record["PartitionKey"],
        data=record["Data"],
    )


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
        self._s3 = s3
        self._reader = ShardReader(kinesis, settings.stream_name, records_per_call=records_per_call)
        self._max_batch = max_batch_records
        self._positions: dict[str, str] | None = None
        self.stats = ArchiveStats()

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
            records = self._reader.read_range(shard_id, first, last)
            self._write_batch(shard_id, records, count=False)
        return {shard_id: last for shard_id, (_, last) in last_batch.items()}

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
        try:
            return sum(self._archive_shard(shard_id) for shard_id in self._reader.shard_ids())
        except BaseException:
            # A failed read or write leaves the reader's iterators past records that are not
            # archived, and part of a batch may be written: start over from the checkpoint,
            # which finishes that very batch (same range, same keys) before reading on.
            self._positions = None
            self._reader.forget()
            raise

    def _archive_shard(self, shard_id: str) -> int:
        assert self._positions is not None  # noqa: S101 - narrows the type; set by archive_once
        batch: list[dict[str, Any]] = []
        while len(batch) < self._max_batch:
            # An expired iterator is renewed after the last record read into this batch, so a
            # renewal never reads a record of the batch twice.
            after = batch[-1]["SequenceNumber"] if batch else self._positions.get(shard_id)
            page = self._reader.read(shard_id, after)
            if page is None:
                continue
            batch.extend(page.records)
            if page.done:
                break
        if batch:
            self._write_batch(shard_id, batch, count=True)
            self._positions[shard_id] = batch[-1]["SequenceNumber"]
        return len(batch)

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

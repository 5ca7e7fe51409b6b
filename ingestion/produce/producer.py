"""A Kinesis producer that never reports a record as sent unless Kinesis accepted it.

Records are grouped and sent by the one PutRecords batcher (``ingestion.kinesis.batcher``:
Kinesis's limits, whole-call throttling retried by botocore, partial failures re-sent with
jittered backoff). This class adds what a long-running source needs: bounded memory (at most
``max_in_flight`` batches are in the air, and ``put`` blocks while they are) and one report of
every record's fate.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from ingestion.kinesis.batcher import Batcher, FailedRecord, Record, put_batch
from ingestion.produce.dead_letters import DeadLetters

# Refused records kept in the report for people to read; all of them go to the dead letters.
REPORTED_FAILURES = 100


@dataclass
class ProduceReport:
    """What happened to every record handed to the producer."""

    accepted: int = 0
    retried: int = 0  # re-sends after a partial failure, counted per record
    failed_count: int = 0
    failed: list[FailedRecord] = field(default_factory=list)  # the first REPORTED_FAILURES
    dead_letters: Path | None = None  # every refused record, when the producer was given a file

    @property
    def ok(self) -> bool:
        return self.failed_count == 0


class KinesisProducer:
    """Batches records into PutRecords calls; use as a context manager or call ``flush``."""

    def __init__(
        self,
        client: Any,
        stream_name: str,
        *,
        max_in_flight: int = 4,
        retry_deadline_seconds: float = 60.0,
        retry_max_wait_seconds: float = 5.0,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self._client = client
        self._stream_name = stream_name
        self._retry_deadline = retry_deadline_seconds
        self._retry_max_wait = retry_max_wait_seconds
        self._pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="put")
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._futures: set[Future[None]] = set()
        self._batcher = Batcher()
        self._dead_letters = dead_letters
        self._report = ProduceReport(dead_letters=dead_letters.path if dead_letters else None)

    def put(self, data: bytes, partition_key: str) -> None:
        record = Record(data, partition_key)
        reason = record.unsendable()
        if reason is not None:
            self._refused(
                [FailedRecord(record, "RecordRejected", f"not sendable to Kinesis: {reason}")]
            )
            return
        full = self._batcher.add(record)
        if full:
            self._submit(full)

    def put_many(self, records: Iterable[tuple[bytes, str]]) -> None:
        for data, partition_key in records:
            self.put(data, partition_key)

    def flush(self) -> ProduceReport:
        """Send what is batched, wait for every call, and return the report so far."""
        if len(self._batcher):
            self._submit(self._batcher.take())
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            future.result()
        with self._lock:
            return replace(self._report, failed=list(self._report.failed))

    def close(self) -> ProduceReport:
        report = self.flush()
        self._pool.shutdown(wait=True)
        return report

    def __enter__(self) -> KinesisProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _submit(self, batch: list[Record]) -> None:
        self._slots.acquire()  # blocks the caller: this is what bounds memory
        future = self._pool.submit(self._send, batch)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
        self._slots.release()

    def _send(self, batch: list[Record]) -> None:
        outcome = put_batch(
            self._client,
            self._stream_name,
            batch,
            deadline_seconds=self._retry_deadline,
            max_wait_seconds=self._retry_max_wait,
        )
        with self._lock:
            self._report.accepted += outcome.accepted
            self._report.retried += outcome.retried
        self._refused(outcome.failed)

    def _refused(self, failures: list[FailedRecord]) -> None:
        """Count every refused record, keep the first few for the report, file them all."""
        if not failures:
            return
        with self._lock:
            self._report.failed_count += len(failures)
            room = REPORTED_FAILURES - len(self._report.failed)
            self._report.failed.extend(failures[: max(room, 0)])
        if self._dead_letters is not None:
            self._dead_letters.write(failures)

"""A Kinesis producer that never reports a record as sent unless Kinesis accepted it.

PutRecords accepts up to 500 records and 5 MiB a call and can fail some records of a call
while accepting the rest. Throttling of a whole call is retried inside botocore (standard retry
mode, see ``ingestion.aws``); the failed records of a partial failure are re-sent, alone, by
tenacity with exponential backoff and full jitter. Memory is bounded: at most ``max_in_flight``
batches are in the air, and ``put`` blocks while they are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_random_exponential,
)

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data plus partition key, Kinesis's own limit

# Per-record codes worth a retry; anything else (a KMS key refusing, say) will not heal by waiting.
_RETRYABLE_RECORD_ERRORS = frozenset(
    {"ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException"}
)
_RETRYABLE_CALL_ERRORS = _RETRYABLE_RECORD_ERRORS | {
    "LimitExceededException",
    "ServiceUnavailable",
    "ThrottlingException",
}


@dataclass(frozen=True)
class Record:
    data: bytes
    partition_key: str

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())


@dataclass(frozen=True)
class FailedRecord:
    record: Record
    error_code: str
    error_message: str


@dataclass
class ProduceReport:
    """What happened to every record handed to the producer."""

    accepted: int = 0
    retried: int = 0  # re-sends after a partial failure, counted per record
    failed: list[FailedRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class _PartialFailure(Exception):
    def __init__(self, pending: list[tuple[Record, str, str]]) -> None:
        super().__init__(f"{len(pending)} records not accepted")
        self.pending = pending


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
    ) -> None:
        self._client = client
        self._stream_name = stream_name
        self._retry_deadline = retry_deadline_seconds
        self._retry_max_wait = retry_max_wait_seconds
        self._pool = ThreadPoolExecutor(max_workers=max_in_flight, thread_name_prefix="put")
        self._slots = threading.BoundedSemaphore(max_in_flight)
        self._lock = threading.Lock()
        self._futures: set[Future[None]] = set()
        self._batch: list[Record] = []
        self._batch_bytes = 0
        self._report = ProduceReport()

    def put(self, data: bytes, partition_key: str) -> None:
        record = Record(data, partition_key)
        if record.size > MAX_RECORD_BYTES or not partition_key:
            reason = "empty partition key" if not partition_key else f"{record.size} bytes"
            self._fail([(record, "RecordRejected", f"not sendable to Kinesis: {reason}")])
            return
        if (
            len(self._batch) == MAX_RECORDS_PER_CALL
            or self._batch_bytes + record.size > MAX_BYTES_PER_CALL
        ):
            self._submit()
        self._batch.append(record)
        self._batch_bytes += record.size

    def put_many(self, records: Iterable[tuple[bytes, str]]) -> None:
        for data, partition_key in records:
            self.put(data, partition_key)

    def flush(self) -> ProduceReport:
        """Send what is batched, wait for every call, and return the report so far."""
        if self._batch:
            self._submit()
        with self._lock:
            pending = list(self._futures)
        for future in pending:
            future.result()
        with self._lock:
            return ProduceReport(
                self._report.accepted, self._report.retried, list(self._report.failed)
            )

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

    def _submit(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
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
        pending: list[tuple[Record, str, str]] = [(r, "", "") for r in batch]
        first = True
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_PartialFailure),
                wait=wait_random_exponential(multiplier=0.1, max=self._retry_max_wait),
                stop=stop_after_delay(self._retry_deadline),
                reraise=True,
            ):
                with attempt:
                    if not first:
                        with self._lock:
                            self._report.retried += len(pending)
                    first = False
                    pending = self._put_records([r for r, _, _ in pending])
                    if pending:
                        raise _PartialFailure(pending)
        except _PartialFailure as exc:
            self._fail(exc.pending)
        except Exception as exc:  # the records' fate is unknown to us: never report success
            self._fail([(r, type(exc).__name__, str(exc)) for r, _, _ in pending])

    def _put_records(self, records: list[Record]) -> list[tuple[Record, str, str]]:
        """One PutRecords call; returns the records to retry and raises on permanent failure."""
        try:
            response = self._client.put_records(
                StreamName=self._stream_name,
                Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in records],
            )
        except (ClientError, BotoCoreError) as exc:
            # botocore already retried throttling and connection errors; past that, keep the
            # whole call for tenacity's longer deadline, unless waiting cannot help.
            code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else "Network"
            failures = [(r, code, str(exc)) for r in records]
            if isinstance(exc, ClientError) and code not in _RETRYABLE_CALL_ERRORS:
                self._fail(failures)
                return []
            return failures
        retry: list[tuple[Record, str, str]] = []
        permanent: list[tuple[Record, str, str]] = []
        accepted = 0
        for record, result in zip(records, response["Records"], strict=True):
            code = result.get("ErrorCode")
            if code is None:
                accepted += 1
            elif code in _RETRYABLE_RECORD_ERRORS:
                retry.append((record, code, result.get("ErrorMessage", "")))
            else:
                permanent.append((record, code, result.get("ErrorMessage", "")))
        with self._lock:
            self._report.accepted += accepted
        if permanent:
            self._fail(permanent)
        return retry

    def _fail(self, failures: list[tuple[Record, str, str]]) -> None:
        with self._lock:
            self._report.failed.extend(FailedRecord(r, c, m) for r, c, m in failures)

"""One PutRecords batcher: Kinesis's limits and partial-failure retry, for every producer.

PutRecords takes at most 500 records and 5 MiB a call, 1 MiB a record (data plus partition
key), and can refuse some records of a call while accepting the rest. Whole-call throttling is
retried inside botocore (standard retry mode); the refused records of a partial failure are
re-sent, alone, with exponential backoff and full jitter until a deadline.

The edge poller ships in a Lambda whose runtime has only the standard library and boto3, so
this module uses nothing else: that is why the retry is a short loop here rather than tenacity.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.contract import limits as contract_limits
from ingestion.contract.validation import repeated_key

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024  # data plus partition key, Kinesis's own limit

# Per-record codes worth a retry; anything else (a KMS key refusing, say) will not heal by waiting.
RETRYABLE_RECORD_ERRORS = frozenset(
    {"ProvisionedThroughputExceededException", "InternalFailure", "KMSThrottlingException"}
)
RETRYABLE_CALL_ERRORS = RETRYABLE_RECORD_ERRORS | {
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

    def unsendable(self) -> str | None:
        """Why Kinesis would refuse this record whatever the retries, or None."""
        if not self.partition_key:
            return "empty partition key"
        if len(self.data) > contract_limits.MAX_RECORD_BYTES:
            # The contract's one record limit, with its reason, as the edge and the warehouse
            # give it; never cut to fit.
            return f"too_large: {len(self.data)} bytes"
        repeated = repeated_key(self.data)
        if repeated is not None:
            # Redshift would keep one of the values unseen (validation.repeated_key).
            return f"{repeated.reason}: {repeated.message}"
        if self.size > MAX_RECORD_BYTES:
            return f"{self.size} bytes"
        return None


@dataclass(frozen=True)
class FailedRecord:
    record: Record
    error_code: str
    error_message: str


class Batcher:
    """Groups records into batches that fit one PutRecords call."""

    def __init__(self) -> None:
        self._batch: list[Record] = []
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._batch)

    def add(self, record: Record) -> list[Record] | None:
        """Add a sendable record; return the full batch it did not fit into, to send now."""
        full = None
        if (
            len(self._batch) == MAX_RECORDS_PER_CALL
            or self._bytes + record.size > MAX_BYTES_PER_CALL
        ):
            full = self.take()
        self._batch.append(record)
        self._bytes += record.size
        return full

    def take(self) -> list[Record]:
        batch, self._batch, self._bytes = self._batch, [], 0
        return batch


@dataclass
class PutOutcome:
    accepted: int = 0
    retried: int = 0  # re-sends after a partial failure, counted per record
    failed: list[FailedRecord] = field(default_factory=list)


def put_batch(
    client: Any,
    stream_name: str,
    batch: list[Record],
    *,
    deadline_seconds: float = 60.0,
    max_wait_seconds: float = 5.0,
    max_attempts: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PutOutcome:
    """Put one batch; re-send refused records until accepted, permanent, or out of time."""
    outcome = PutOutcome()
    started = clock()
    pending = [FailedRecord(r, "", "") for r in batch]
    attempt = 0
    while True:
        if attempt:
            outcome.retried += len(pending)
        try:
            pending = _put_records(client, stream_name, [f.record for f in pending], outcome)
        except Exception as exc:  # noqa: BLE001 - the records' fate is unknown: never report success
            outcome.failed.extend(
                FailedRecord(f.record, type(exc).__name__, str(exc)) for f in pending
            )
            return outcome
        attempt += 1
        out_of_attempts = max_attempts is not None and attempt >= max_attempts
        if not pending or out_of_attempts or clock() - started >= deadline_seconds:
            outcome.failed.extend(pending)
            return outcome
        # Full jitter: a uniform wait up to an exponentially growing cap (AWS's advice).
        sleep(random.uniform(0, min(max_wait_seconds, 0.1 * 2**attempt)))  # noqa: S311 - jitter, not security


def _put_records(
    client: Any, stream_name: str, records: list[Record], outcome: PutOutcome
) -> list[FailedRecord]:
    """One PutRecords call; returns the records worth re-sending, the rest land in ``outcome``."""
    try:
        response = client.put_records(
            StreamName=stream_name,
            Records=[{"Data": r.data, "PartitionKey": r.partition_key} for r in records],
        )
    except (ClientError, BotoCoreError) as exc:
        # botocore already retried throttling and connection errors; past that, keep the
        # whole call for the longer deadline here, unless waiting cannot help.
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else "Network"
        failures = [FailedRecord(r, code, str(exc)) for r in records]
        if isinstance(exc, ClientError) and code not in RETRYABLE_CALL_ERRORS:
            outcome.failed.extend(failures)
            return []
        return failures
    retry: list[FailedRecord] = []
    for record, result in zip(records, response["Records"], strict=True):
        code = result.get("ErrorCode")
        if code is None:
            outcome.accepted += 1
        elif code in RETRYABLE_RECORD_ERRORS:
            retry.append(FailedRecord(record, code, result.get("ErrorMessage", "")))
        else:
            outcome.failed.append(FailedRecord(record, code, result.get("ErrorMessage", "")))
    return retry

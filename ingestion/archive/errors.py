"""The records the archive could not file: Firehose's `errors/` prefix of the raw bucket.

When the transform (ingestion/archive/format.py) answers ``ProcessingFailed`` for a record,
Firehose writes it under ``errors/processing-failed/date=.../hour=.../`` as one JSON document a
line: ``attemptsMade``, ``arrivalTimestamp`` (ms), ``errorCode``, ``errorMessage``,
``attemptEndingTimestamp``, ``rawData`` (the record's bytes in base64) and ``lambdaArn``. Such a
record is in no partition a replay reads, so it is a hole in the archive: `accfb reconcile`
counts them, `accfb trace` names the ones that mention a gift, and the refresh publishes their
count (``ArchiveProcessingFailed``) for the monitoring stack's alarm.

Errors are rare (each one is a transform fault to fix), so the prefix is read whole; objects
may be gzip (the destination's compression) or plain.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ERROR_PREFIX = "errors/"

_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class FailedRecord:
    """One record Firehose could not deliver to the archive's partitions."""

    key: str  # the errors/ object holding it
    arrived_at: datetime | None  # on the stream (Firehose's arrivalTimestamp), if readable
    error_code: str
    data: bytes  # the record as it was on the stream; empty when the line is unreadable


def _parse_line(key: str, line: bytes) -> FailedRecord:
    try:
        doc = json.loads(line)
    except (ValueError, RecursionError):
        return FailedRecord(key, None, "unreadable", b"")
    if not isinstance(doc, dict):
        return FailedRecord(key, None, "unreadable", b"")
    # Firehose's documents spell the code errorCode, and ErrorCode in some error types.
    code = doc.get("errorCode", doc.get("ErrorCode"))
    stamp = doc.get("arrivalTimestamp")
    arrived = None
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            arrived = datetime.fromtimestamp(stamp / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            arrived = None
    try:
        data = base64.b64decode(str(doc.get("rawData", "")), validate=True)
    except (binascii.Error, ValueError):
        data = b""
    return FailedRecord(key, arrived, str(code) if code is not None else "unknown", data)


def read_object(key: str, body: bytes) -> list[FailedRecord]:
    """The failed records of one errors/ object."""
    if body.startswith(_GZIP_MAGIC):
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError):
            return [FailedRecord(key, None, "unreadable", b"")]
    return [_parse_line(key, line) for line in body.splitlines() if line.strip()]


def failed_records(
    s3: Any, bucket: str, *, written_since: datetime | None = None
) -> Iterator[FailedRecord]:
    """Every failed record under errors/, or those in objects written since a time."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=ERROR_PREFIX):
        for obj in page.get("Contents", []):
            if written_since is not None and obj["LastModified"] < written_since:
                continue
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            yield from read_object(obj["Key"], body)

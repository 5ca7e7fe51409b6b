"""The raw archive's record format, one home for both writers: Firehose's transform in AWS and
the local archiver (ingestion/archive/archiver.py).

Each archived record is one JSON line holding the record's text and its stream metadata, so a
replayed row is indistinguishable from a streamed one; its partition is the record's `source`
and its arrival date and hour on the stream. Standard library only: this module is the whole
code of the Firehose transform Lambda (infra/stacks/archive.py).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any

# Records whose `source` cannot be read (not JSON, not an object, not a plain name).
UNKNOWN_SOURCE = "unknown"

_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def record_source(data: bytes) -> str:
    """The `source` partition a record is archived under; never raises, whatever ``data`` is."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        # ValueError: not UTF-8 or not JSON (or an integer past Python's 4,300 digits);
        # RecursionError: nesting deeper than the parser's stack (b"[" * 100000).
        return UNKNOWN_SOURCE
    source = value.get("source") if isinstance(value, dict) else None
    if isinstance(source, str) and _SOURCE_NAME.fullmatch(source):
        return source
    return UNKNOWN_SOURCE


def archive_line(
    *, shard_id: str, sequence_number: str, arrival: datetime, partition_key: str, data: bytes
) -> bytes:
    """One archived record: the landing table's columns, the record's text untouched, and its
    size on the stream: Redshift's COPY can hold at most 65,535 bytes of the text, so a record
    over the contract's limit is still decided `too_large` from its real size there."""
    return json.dumps(
        {
            "approximate_arrival_timestamp": arrival.astimezone(UTC).isoformat(
                timespec="microseconds"
            ),
            "partition_key": partition_key,
            "shard_id": shard_id,
            "sequence_number": sequence_number,
            # The lander keeps non-UTF-8 bytes the same way, so both paths land the same text.
            "kinesis_data": data.decode("utf-8", errors="replace"),
            "record_bytes": len(data),
        },
        separators=(",", ":"),
    ).encode()


def partition_keys(data: bytes, arrival: datetime) -> dict[str, str]:
    arrival = arrival.astimezone(UTC)
    return {"source": record_source(data), "date": f"{arrival:%Y-%m-%d}", "hour": f"{arrival:%H}"}


# What one record's transform can raise on input Firehose hands over: bad base64 (a ValueError),
# a metadata field missing or of the wrong type, an arrival time out of datetime's range.
_RECORD_FAULTS = (ValueError, KeyError, TypeError, OverflowError, OSError, RecursionError)


def _transformed(record: dict[str, Any]) -> dict[str, Any]:
    meta = record["kinesisRecordMetadata"]
    data = base64.b64decode(record["data"], validate=True)
    arrival = datetime.fromtimestamp(meta["approximateArrivalTimestamp"] / 1000, UTC)
    line = archive_line(
        shard_id=str(meta["shardId"]),
        sequence_number=str(meta["sequenceNumber"]),
        arrival=arrival,
        partition_key=str(meta["partitionKey"]),
        data=data,
    )
    return {
        "recordId": record["recordId"],
        "result": "Ok",
        "data": base64.b64encode(line + b"\n").decode(),
        "metadata": {"partitionKeys": partition_keys(data, arrival)},
    }


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Firehose data transformation: each Kinesis record becomes its archive line, with the
    partition keys the S3 prefix is built from (`partitionKeyFromLambda`).

    A record the transform cannot turn into a line is answered ``ProcessingFailed`` alone, with
    its data as received (Firehose writes it under the stream's `errors/` prefix, which
    reconcile reads and an alarm watches); raising instead would fail the whole batch.
    """
    results = []
    for record in event["records"]:
        try:
            results.append(_transformed(record))
        except _RECORD_FAULTS:
            results.append(
                {
                    "recordId": record.get("recordId", ""),
                    "result": "ProcessingFailed",
                    "data": str(record.get("data", "")),
                }
            )
    return {"records": results}

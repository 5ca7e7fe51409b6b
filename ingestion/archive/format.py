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
    """The `source` partition a record is archived under."""
    try:
        value = json.loads(data)
    except ValueError:
        return UNKNOWN_SOURCE
    source = value.get("source") if isinstance(value, dict) else None
    if isinstance(source, str) and _SOURCE_NAME.fullmatch(source):
        return source
    return UNKNOWN_SOURCE


def archive_line(
    *, shard_id: str, sequence_number: str, arrival: datetime, partition_key: str, data: bytes
) -> bytes:
    """One archived record: the landing table's columns, the record's text untouched."""
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
        },
        separators=(",", ":"),
    ).encode()


def partition_keys(data: bytes, arrival: datetime) -> dict[str, str]:
    arrival = arrival.astimezone(UTC)
    return {"source": record_source(data), "date": f"{arrival:%Y-%m-%d}", "hour": f"{arrival:%H}"}


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Firehose data transformation: each Kinesis record becomes its archive line, with the
    partition keys the S3 prefix is built from (`partitionKeyFromLambda`)."""
    results = []
    for record in event["records"]:
        meta = record["kinesisRecordMetadata"]
        data = base64.b64decode(record["data"])
        arrival = datetime.fromtimestamp(meta["approximateArrivalTimestamp"] / 1000, UTC)
        line = archive_line(
            shard_id=meta["shardId"],
            sequence_number=meta["sequenceNumber"],
            arrival=arrival,
            partition_key=meta["partitionKey"],
            data=data,
        )
        results.append(
            {
                "recordId": record["recordId"],
                "result": "Ok",
                "data": base64.b64encode(line + b"\n").decode(),
                "metadata": {"partitionKeys": partition_keys(data, arrival)},
            }
        )
    return {"records": results}

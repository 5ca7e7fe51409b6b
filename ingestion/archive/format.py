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


# The objects the contract reads, where a repeated key is refused (validation.OBJECT_PATHS; a
# test holds them equal: this module ships alone, without the schemas).
CONTRACT_OBJECTS = ("", "payload", "payload.donor")


class _RepeatedKeys(dict[str, Any]):
    """A JSON object that repeated a key (json keeps the last value silently)."""


def _marking_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _RepeatedKeys(obj)


def _parsed(data: bytes) -> object:
    try:
        return json.loads(data, object_pairs_hook=_marking_repeats)
    except (ValueError, RecursionError):
        # ValueError: not UTF-8 or not JSON (or an integer past Python's 4,300 digits);
        # RecursionError: nesting deeper than the parser's stack (b"[" * 100000).
        return None


def _source_of(value: object) -> str:
    source = value.get("source") if isinstance(value, dict) else None
    if isinstance(source, str) and _SOURCE_NAME.fullmatch(source):
        return source
    return UNKNOWN_SOURCE


def _repeated_object(value: object) -> str | None:
    for path in CONTRACT_OBJECTS:
        obj = value
        for name in path.split(".") if path else ():
            obj = obj.get(name) if isinstance(obj, dict) else None
        if isinstance(obj, _RepeatedKeys):
            return path or "the event"
    return None


def record_source(data: bytes) -> str:
    """The `source` partition a record is archived under; never raises, whatever ``data`` is."""
    return _source_of(_parsed(data))


class RepeatedKey(ValueError):
    """A record that repeats a key the contract reads: Redshift would keep one value unseen."""


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


# What one record's transform can raise on input Firehose hands over: bad base64 (a ValueError),
# a metadata field missing or of the wrong type, an arrival time out of datetime's range.
_RECORD_FAULTS = (ValueError, KeyError, TypeError, OverflowError, OSError, RecursionError)


def _transformed(record: dict[str, Any]) -> dict[str, Any]:
    meta = record["kinesisRecordMetadata"]
    data = base64.b64decode(record["data"], validate=True)
    value = _parsed(data)
    repeated = _repeated_object(value)
    if repeated is not None:
        raise RepeatedKey(f"duplicate_key: {repeated} repeats a key")
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
        "metadata": {
            "partitionKeys": {
                "source": _source_of(value),
                "date": f"{arrival.astimezone(UTC):%Y-%m-%d}",
                "hour": f"{arrival.astimezone(UTC):%H}",
            }
        },
    }


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """Firehose data transformation: each Kinesis record becomes its archive line, with the
    partition keys the S3 prefix is built from (`partitionKeyFromLambda`).

    A record the transform cannot turn into a line is answered ``ProcessingFailed`` alone, with
    its data as received (Firehose writes it under the stream's `errors/` prefix, which
    reconcile and trace read and an alarm watches); raising instead would fail the whole batch.
    So is a record that repeats a key the contract reads: the stream's Redshift landing cannot
    see the repeat, so refusing it here is what raises the alarm on one (the local archiver, in
    front of DuckDB, which quarantines it, keeps it).
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

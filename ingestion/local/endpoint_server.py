"""moto's server for the local AWS endpoint: one request at a time, and shards that scale.

moto's Kinesis gives a new record the shard's highest sequence number plus one, without a lock.
Under concurrent PutRecords calls (the producer keeps several in flight, and the lander reads at
the same time) two records can get the same number and one of them silently replaces the other:
we saw 2 of 2,000 records vanish. Serialising requests removes the race; connections are still
accepted on threads, so a slow client does not block the others' sockets.

moto's shards also find the newest sequence number by listing every key, and serve GetRecords
by walking the shard from its first record: both grow with the stream, so a few minutes at
8,000 events/s slowed puts to a few hundred a second. ``_put_record`` and ``_get_records`` keep
a sorted key list per shard beside moto's dict so both are a bisect away.

GetRecords is where a peak minute's landing spends its time: moto decodes each stored record
from base64, its generic serializer walks every field and encodes it again, and a regex meant for
XML request ids then scans the whole multi-megabyte JSON body. ``_fast_get_records`` copies the
stored base64 straight into the body in the same wire format, and the regex is skipped for bodies
without an XML request id. Only the local endpoint is patched.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import json
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.responses import BaseResponse
from moto.kinesis.models import Record, Shard
from moto.kinesis.responses import KinesisResponse
from moto.server import (  # type: ignore[attr-defined]
    DomainDispatcherApplication,
    create_backend_app,
)
from werkzeug.serving import run_simple

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def serialised(app: Wsgi) -> Wsgi:
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            # Materialise the body inside the lock: moto's work happens while it is produced.
            return list(app(environ, start_response))

    return handle


def _keys(shard: Shard) -> list[int]:
    keys: list[int] | None = shard.__dict__.get("_accfb_keys")
    if keys is None or len(keys) != len(shard.records):
        keys = list(shard.records)  # records are only ever appended in key order
        shard.__dict__["_accfb_keys"] = keys
    return keys


def _max_sequence_number(shard: Shard) -> int:
    keys = _keys(shard)
    return keys[-1] if keys else 0


def _put_record(shard: Shard, partition_key: str, data: str, explicit_hash_key: str) -> str:
    keys = _keys(shard)  # before the insert, or the length check would rebuild the list
    sequence_number = (keys[-1] if keys else 0) + 1
    shard.records[sequence_number] = Record(partition_key, data, sequence_number, explicit_hash_key)
    keys.append(sequence_number)
    return str(sequence_number)


def _get_records(
    shard: Shard, last_sequence_id: str, limit: int | None
) -> tuple[list[Record], int, int]:
    keys = _keys(shard)
    start = bisect.bisect_right(keys, int(last_sequence_id))
    chosen = keys[start : start + limit] if limit else keys[start:]
    records = [shard.records[key] for key in chosen]
    if not records:
        return [], int(last_sequence_id), 0
    behind = shard.records[keys[-1]].created_at - records[-1].created_at
    return records, chosen[-1], int(behind * 1000)


def _arrival(record: Record) -> float:
    # Kinesis reports arrival in milliseconds, as moto's own serializer rounds it.
    at = record.created_at_datetime
    return calendar.timegm(at.timetuple()) + (at.microsecond // 1000) / 1000.0


def _record_json(record: Record) -> str:
    # moto stores the base64 the wire carries, and base64 needs no JSON escaping: the record's
    # bulk is copied, not encoded again.
    return (
        f'{{"Data":"{record.data}","PartitionKey":{json.dumps(record.partition_key)},'
        f'"SequenceNumber":"{record.sequence_number}",'
        f'"ApproximateArrivalTimestamp":{_arrival(record)}}}'
    )


def _fast_get_records(self: KinesisResponse) -> tuple[str, dict[str, str]]:
    next_iterator, records, behind = self.kinesis_backend.get_records(
        self._get_param("StreamARN"), self._get_param("ShardIterator"), self._get_param("Limit")
    )
    body = (
        f'{{"NextShardIterator":{json.dumps(next_iterator)},'
        f'"Records":[{",".join(_record_json(record) for record in records)}],'
        f'"MillisBehindLatest":{int(behind)}}}'
    )
    return body, {"Content-Type": "application/x-amz-json-1.1"}


_enrich_response = BaseResponse._enrich_response


def _enrich_json_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    if isinstance(body, str) and "<RequestId>" not in body:
        headers, _ = _enrich_response(headers, "")
        return headers, body
    return _enrich_response(headers, body)


def _patch_moto() -> None:
    Shard.get_max_sequence_number = _max_sequence_number  # type: ignore[assignment]
    Shard.put_record = _put_record  # type: ignore[assignment]
    Shard.get_records = _get_records  # type: ignore[assignment]
    KinesisResponse.get_records = _fast_get_records  # type: ignore[assignment,method-assign]
    BaseResponse._enrich_response = staticmethod(_enrich_json_response)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    _patch_moto()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, serialised(app), threaded=True)


if __name__ == "__main__":
    main()

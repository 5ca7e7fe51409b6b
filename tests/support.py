"""Shared steps of the replay proofs: send a corpus, archive it, land or replay it, read marts."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.archive.archiver import StreamArchiver
from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.landing.lander import StreamLander
from ingestion.produce.publish import publish_records
from ingestion.replay.window import Window

FAULTS = FaultRates(
    redelivery=0.03,
    resend_new_event_id=0.02,
    out_of_order=0.05,
    late=0.01,
    refund_before_gift=0.02,
    malformed=0.02,
    schema_drift=0.03,
)


def corpus(seed: int, seconds: float = 2, profile: str = "campaign") -> list[bytes]:
    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    records = Simulator(seed=seed, start=start, faults=FAULTS).generate(steady(profile, seconds))
    return [r.data for r in records]


def publish(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]


def archive(settings: Settings) -> int:
    return StreamArchiver(
        settings, aws.client("kinesis", settings), aws.client("s3", settings)
    ).archive_once()


def land(settings: Settings) -> int:
    return StreamLander(settings, aws.client("kinesis", settings)).land_once()


def window_around_now(minutes: int = 30) -> Window:
    now = datetime.now(UTC)
    return Window(now - timedelta(minutes=minutes), now + timedelta(minutes=minutes))


def in_warehouse(settings: Settings, path: Path) -> Settings:
    """The same stream and bucket, another warehouse file."""
    return settings.model_copy(update={"warehouse_path": path})


def build(settings: Settings) -> None:
    dbt.build_streaming_models(settings)


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect(settings.warehouse_path) as con:
        return con.execute(sql).fetchall()


def marts(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """The curated tables without load-time columns (they say when, not what)."""
    return {
        "fct_donations": query(
            settings,
            """
            select * exclude (first_loaded_at, last_landed_at)
            from marts.fct_donations order by donation_id
            """,
        ),
        "stg_stream__events": query(
            settings,
            """
            select event_id, event_type, shard_id, sequence_number, occurred_at, emitted_at,
                arrived_at
            from staging.stg_stream__events order by event_id
            """,
        ),
        "quarantined_events": query(
            settings,
            """
            select shard_id, sequence_number, reason, raw_text, arrived_at
            from ops.quarantined_events order by shard_id, sequence_number
            """,
        ),
    }


def archived_lines(settings: Settings) -> list[dict[str, Any]]:
    """Every line of every archive object, read straight from the bucket."""
    s3: Any = aws.client("s3", settings)
    lines: list[dict[str, Any]] = []
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=settings.raw_bucket, Prefix="raw/")
    for page in pages:
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=settings.raw_bucket, Key=item["Key"])["Body"].read()
            lines.extend(
                {**json.loads(line), "key": item["Key"]}
                for line in gzip.decompress(body).splitlines()
            )
    return lines


def write_processing_failed(
    settings: Settings, records: list[bytes], arrival: datetime, *, key: str | None = None
) -> str:
    """Records the archive's transform fails, written under errors/ as Firehose writes them.

    Each record goes through the real transform (ingestion/archive/format.handler) with metadata
    it cannot read, so the handler answers ProcessingFailed; Firehose's documented error
    document wraps that answer's data (the record as received). The local archiver never fails
    a record, so this stands in for Firehose.
    """
    import base64

    from ingestion.archive.format import handler

    event = {
        "records": [
            {
                "recordId": str(i),
                "data": base64.b64encode(data).decode(),
                "kinesisRecordMetadata": {"shardId": "shardId-000000000000"},  # no arrival
            }
            for i, data in enumerate(records)
        ]
    }
    answers = handler(event, None)["records"]
    assert {a["result"] for a in answers} == {"ProcessingFailed"}
    stamp = int(arrival.timestamp() * 1000)
    lines = [
        json.dumps(
            {
                "attemptsMade": 1,
                "arrivalTimestamp": stamp,
                "errorCode": "Lambda.ProcessingFailed",
                "errorMessage": "The Lambda function returned ProcessingFailed",
                "attemptEndingTimestamp": stamp + 1000,
                "rawData": answer["data"],
                "lambdaArn": "arn:aws:lambda:us-west-2:000000000000:function:transform",
            }
        )
        for answer in answers
    ]
    key = key or (
        f"errors/processing-failed/date={arrival:%Y-%m-%d}/hour={arrival:%H}/"
        f"accfb-raw-archive-1-{arrival:%Y-%m-%d-%H-%M-%S}-x.gz"
    )
    body = gzip.compress(("\n".join(lines) + "\n").encode())
    aws.client("s3", settings).put_object(Bucket=settings.raw_bucket, Key=key, Body=body)
    return key

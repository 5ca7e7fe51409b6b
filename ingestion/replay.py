"""`accfb replay`: load a window of the raw archive into the backfill landing, then rebuild.

The window's objects are chosen by their partitions (source, arrival date and hour) and named in
a manifest written next to the archive, so the load reads exactly those objects: COPY ... MANIFEST
on Redshift, DuckDB over the same objects locally (macros/batch/load_from_s3.sql). The load adds
only records that arrived inside the window and are not in the backfill landing yet, and staging
deduplicates against the streaming landing, so a window can be replayed any number of times.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from ingestion import aws, dbt, s3_access, warehouse
from ingestion.archive import RAW_PREFIX, ArchiveKey, list_archive, partition_prefix
from ingestion.landing import ensure_landing_table
from ingestion.settings import Settings

MANIFEST_PREFIX = "manifests/"


@dataclass(frozen=True)
class Window:
    """A half-open interval of stream arrival time, [start, end), in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds need a time zone")
        if self.end <= self.start:
            raise ValueError("a window ends after it starts")

    def hours(self) -> list[datetime]:
        hour = self.start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        hours = []
        while hour < self.end:
            hours.append(hour)
            hour += timedelta(hours=1)
        return hours


@dataclass(frozen=True)
class ReplayReport:
    objects: int
    manifest_url: str
    loaded: int | None  # new rows in the backfill landing (known on the local warehouse)
    dbt_nodes: int


def window_objects(
    s3: Any, bucket: str, window: Window, sources: Sequence[str] = ()
) -> list[ArchiveKey]:
    """The archive objects whose partition overlaps the window, in key order."""
    if not sources:
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=RAW_PREFIX, Delimiter="/"
        )
        sources = [
            p["Prefix"].removeprefix(f"{RAW_PREFIX}source=").rstrip("/")
            for page in pages
            for p in page.get("CommonPrefixes", [])
        ]
    prefixes = [partition_prefix(s, hour) for s in sources for hour in window.hours()]
    return sorted(list_archive(s3, bucket, prefixes), key=lambda k: k.key)


def write_manifest(s3: Any, bucket: str, purpose: str, keys: Iterable[str]) -> str:
    """A COPY manifest naming exactly ``keys``; its key is its content's hash (written once)."""
    body = json.dumps(
        {"entries": [{"url": s3_access.s3_url(bucket, k), "mandatory": True} for k in keys]},
        indent=1,
    ).encode()
    key = f"{MANIFEST_PREFIX}{purpose}/{hashlib.sha256(body).hexdigest()[:24]}.json"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
    return s3_access.s3_url(bucket, key)


def run_load(settings: Settings, macro: str, args: dict[str, Any]) -> None:
    """Run one load macro of macros/batch/load_from_s3.sql, with DuckDB's way to S3 locally."""
    if settings.dbt_target == "local":
        os.environ.update(s3_access.dbt_environment(settings))
    dbt.run_dbt(settings, ["run-operation", macro, "--args", json.dumps(args)])


def _backfill_rows(settings: Settings) -> int:
    with warehouse.connect(settings.warehouse_path) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'lander' and table_name = 'backfill_records'"
        ).fetchone()
        if not exists or not exists[0]:
            return 0
        row = con.execute("select count(*) from lander.backfill_records").fetchone()
        return int(row[0]) if row else 0


def load_window(settings: Settings, window: Window, sources: Sequence[str] = ()) -> ReplayReport:
    """Load the window's archived records into the backfill landing (no model build)."""
    s3 = aws.client("s3", settings)
    keys = window_objects(s3, settings.raw_bucket, window, sources)
    manifest = write_manifest(s3, settings.raw_bucket, "replay", (k.key for k in keys))
    local = settings.dbt_target == "local"
    before = 0
    if local:
        with warehouse.connect(settings.warehouse_path) as con:
            # A warehouse that never streamed still needs the streaming landing to read from.
            ensure_landing_table(con)
        before = _backfill_rows(settings)
    if keys:
        args = {
            "manifest_url": manifest,
            "window_start": window.start.astimezone(UTC).isoformat(),
            "window_end": window.end.astimezone(UTC).isoformat(),
        }
        run_load(settings, "load_archive_window", args)
    loaded = _backfill_rows(settings) - before if local else None
    return ReplayReport(objects=len(keys), manifest_url=manifest, loaded=loaded, dbt_nodes=0)


def replay(settings: Settings, window: Window, sources: Sequence[str] = ()) -> ReplayReport:
    """Load the window, then rebuild everything downstream of the landings."""
    loaded = load_window(settings, window, sources)
    result = dbt.build_streaming_models(settings)
    return ReplayReport(loaded.objects, loaded.manifest_url, loaded.loaded, result.nodes)

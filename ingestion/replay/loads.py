"""`accfb replay`: load a window of the raw archive into the backfill landing, then rebuild.

The window's objects are chosen by their partitions (source, arrival date and hour) and named in
a manifest written next to the archive, so the load reads exactly those objects: COPY ... MANIFEST
on Redshift, DuckDB over the same objects locally (macros/batch/load_from_s3.sql). The load adds
only records that arrived inside the window and are not in the backfill landing yet, and staging
deduplicates against the streaming landing, so a window can be replayed any number of times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from ingestion.archive.keys import ArchiveKey, objects_in_hours
from ingestion.config import aws, dbt, warehouse
from ingestion.config.s3_access import run_load, write_manifest
from ingestion.config.settings import Settings
from ingestion.landing.lander import ensure_landing_table
from ingestion.replay.window import Window


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
    return objects_in_hours(s3, bucket, window.hours(), sources)


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

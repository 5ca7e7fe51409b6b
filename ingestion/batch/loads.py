"""`accfb load-batch`: the sources that arrive as files, loaded from the bucket's landing prefixes.

The CRM's donor exports and the payment processor's settlement exports are CSV files dropped
under ``landing/crm/`` and ``landing/settlements/`` of the raw bucket. Each file is loaded once
into its lander table, through the same manifest-driven load as a replay (COPY on Redshift,
DuckDB over the same object locally: macros/batch/load_from_s3.sql); a file already loaded is
skipped by its key, so a rerun changes nothing and a file dropped late is picked up next time.
A file that cannot be loaded (a key that is not an export name, a header that is not the
export's, a value that does not cast) is refused whole with its reason and stays in the bucket;
the other files still load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ingestion.batch.sources import BATCH_SOURCES, BatchSource, dropped_files
from ingestion.config import aws, s3_access, warehouse
from ingestion.config.dbt import DbtError
from ingestion.config.s3_access import run_load, write_manifest
from ingestion.config.settings import Settings


@dataclass(frozen=True)
class BatchLoadReport:
    source: str
    files: int
    skipped: int  # already loaded (known on the local warehouse; on Redshift the load skips them)
    refused: dict[str, str] = field(default_factory=dict)  # object key: why it was not loaded


def _loaded_keys(settings: Settings, source: BatchSource) -> set[str]:
    schema, table = source.table.split(".")
    with warehouse.connect(settings.warehouse_path) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        if not found or not found[0]:
            return set()
        # S608: identifiers are module constants; values are bound parameters.
        rows = con.execute(f"select distinct source_key from {source.table}").fetchall()  # noqa: S608
    return {key for (key,) in rows}


def load_source(settings: Settings, source: BatchSource) -> BatchLoadReport:
    s3 = aws.client("s3", settings)
    keys = dropped_files(s3, settings.raw_bucket, source)
    # Locally the warehouse says which files are in; saves a dbt call per file already loaded.
    loaded = _loaded_keys(settings, source) if settings.dbt_target == "local" else set()
    skipped = 0
    refused: dict[str, str] = {}
    for key in keys:
        problem = source.key_problem(key)
        if problem is not None:
            refused[key] = problem
            continue
        url = s3_access.s3_url(settings.raw_bucket, key)
        if url in loaded:
            skipped += 1
            continue
        manifest = write_manifest(s3, settings.raw_bucket, f"batch/{source.name}", [key])
        args = {
            "table": source.table,
            "manifest_url": manifest,
            "source_url": url,
        }
        try:
            run_load(settings, "load_csv_object", args)
        except DbtError as error:
            refused[key] = error.detail
    return BatchLoadReport(source.name, len(keys), skipped, refused)


def load_batches(settings: Settings, sources: Sequence[str] = ()) -> list[BatchLoadReport]:
    """Load every new file of the named batch sources (all of them by default)."""
    unknown = set(sources) - BATCH_SOURCES.keys()
    if unknown:
        raise ValueError(f"unknown batch sources {sorted(unknown)}; known: {sorted(BATCH_SOURCES)}")
    return [load_source(settings, BATCH_SOURCES[name]) for name in (sources or BATCH_SOURCES)]

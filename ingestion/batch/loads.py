"""`accfb load-batch`: the sources that arrive as files, loaded from the bucket's landing prefixes.

The CRM's donor exports and the payment processor's settlement exports are CSV files dropped
under ``landing/crm/`` and ``landing/settlements/`` of the raw bucket. Each version of a file is
loaded once into its lander table, through the same manifest-driven load as a replay (COPY on
Redshift, DuckDB over the same object locally: macros/batch/load_from_s3.sql).

A version is the key and the object's ETag, kept in the ledger ``lander.batch_export_ledger``
with its row count, load number and time. The ledger is read before any COPY: a known key with
the same ETag is skipped (so a rerun changes nothing, on Redshift too, and a file dropped late is
picked up next time); a known key with another ETag is a corrected export, which replaces the
earlier version's rows under a new load number and raises an alert (an export key is meant to be
written once: someone re-exported over it). Finance reconciles against what the processor says
now, so the correction is loaded rather than held back; the ledger keeps what was loaded before.

A file that cannot be loaded (a key that is not an export name, a header that is not the
export's, a value that does not cast) is refused whole with its reason and stays in the bucket;
the other files still load. Any other failure (a held warehouse, a dropped connection, S3 not
answering) is not the file's fault: the load is retried, and if it still fails it raises
``BatchLoadFailed`` so the caller (the batch DAG's task retries) tries again later.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from ingestion.batch.numbering import numbered_copy
from ingestion.batch.sources import BATCH_SOURCES, BatchSource, dropped_exports
from ingestion.config import aws, s3_access, warehouse
from ingestion.config.dbt import DbtError
from ingestion.config.s3_access import run_load, write_manifest
from ingestion.config.settings import Settings
from ingestion.operations.alerts import Alert, send_alert

log = logging.getLogger(__name__)

LEDGER = "lander.batch_export_ledger"
# The line the load macro logs its outcome on (batch_export_log_prefix in load_from_s3.sql).
_OUTCOME_PREFIX = "accfb-batch-export "

# What only the file can cause: its header (the load macro's own check), a value that does not
# cast or a line that does not parse (DuckDB's CSV reader), a row Redshift's COPY rejected.
# Anything else is the warehouse or the network, and passes on a retry.
_BAD_FILE = re.compile(
    r"was not loaded: its header is"
    r"|Conversion Error"
    r"|CSV Error"
    r"|Could not convert"
    r"|stl_load_errors",
    re.IGNORECASE,
)


def is_bad_file(detail: str) -> bool:
    """Whether a failed load's reason is the file's own fault (refused: the same file fails the
    same way) rather than a passing one (retried)."""
    return _BAD_FILE.search(detail) is not None


class BatchLoadFailed(RuntimeError):
    """A load failed for a reason that is not the file's, after the retries here. Not a refusal:
    the file is fine, and the next attempt (the DAG task's retry, the next run) loads it."""


@dataclass(frozen=True)
class BatchLoadReport:
    source: str
    files: int
    skipped: int  # unchanged since loaded (the ledger has the key with this ETag)
    refused: dict[str, str] = field(default_factory=dict)  # object key: why it was not loaded
    corrected: tuple[str, ...] = ()  # keys rewritten with new content, loaded as a new version


def _known_versions(settings: Settings) -> dict[str, str]:
    """Locally, the ledger's latest ETag per key (saves a dbt call per unchanged file). On
    Redshift the load macro reads the ledger itself, before its COPY."""
    if settings.dbt_target != "local":
        return {}
    with warehouse.connect(settings.warehouse_path) as con:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'lander' and table_name = 'batch_export_ledger'"
        ).fetchone()
        if not found or not found[0]:
            return {}
        rows = con.execute(
            f"select source_key, etag from {LEDGER} "  # noqa: S608 (a module constant)
            "qualify row_number() over (partition by source_key order by load_seq desc) = 1"
        ).fetchall()
    return dict(rows)


def _outcome(logs: Sequence[str]) -> dict[str, object]:
    for line in logs:
        if line.startswith(_OUTCOME_PREFIX):
            outcome: dict[str, object] = json.loads(line.removeprefix(_OUTCOME_PREFIX))
            return outcome
    raise RuntimeError("the batch load macro reported no outcome")


def _retry_unless_bad_file(exc: BaseException) -> bool:
    return isinstance(exc, DbtError) and not is_bad_file(exc.detail)


@retry(
    retry=retry_if_exception(_retry_unless_bad_file),
    wait=wait_exponential(multiplier=1, min=1, max=30),
    stop=stop_after_attempt(4),
    before_sleep=before_sleep_log(log, logging.WARNING),
    reraise=True,
)
def _load_one(settings: Settings, args: dict[str, str]) -> dict[str, object]:
    return _outcome(run_load(settings, "load_csv_object", args).logs)


def _alert_corrected(settings: Settings, source: BatchSource, key: str, rows: object) -> None:
    send_alert(
        settings,
        Alert(
            summary=f"{key} was rewritten with new content: loaded as a new version",
            runbook="batch-export-corrected",
            measured=f"ETag changed; {rows} rows replace the earlier version's",
            threshold="an export key is written once",
            task_id=f"load-batch {source.name}",
        ),
    )


def load_source(settings: Settings, source: BatchSource) -> BatchLoadReport:
    s3 = aws.client("s3", settings)
    exports = dropped_exports(s3, settings.raw_bucket, source)
    known = _known_versions(settings)
    skipped = 0
    refused: dict[str, str] = {}
    corrected: list[str] = []
    for key, etag in exports.items():
        problem = source.key_problem(key)
        if problem is not None:
            refused[key] = problem
            continue
        url = s3_access.s3_url(settings.raw_bucket, key)
        if known.get(url) == etag:
            skipped += 1
            continue
        # Redshift loads the numbered copy (its COPY keeps no file row); DuckDB the export.
        loaded = (
            key
            if settings.dbt_target == "local"
            else numbered_copy(s3, settings.raw_bucket, source.name, key, etag)
        )
        manifest = write_manifest(s3, settings.raw_bucket, f"batch/{source.name}", [loaded])
        args = {"table": source.table, "manifest_url": manifest, "source_url": url, "etag": etag}
        try:
            outcome = _load_one(settings, args)
        except DbtError as error:
            if not is_bad_file(error.detail):
                raise BatchLoadFailed(f"{key} could not be loaded: {error.detail}") from error
            refused[key] = error.detail
            continue
        if outcome["outcome"] == "unchanged":
            skipped += 1
        elif outcome["outcome"] == "corrected":
            corrected.append(key)
            _alert_corrected(settings, source, key, outcome["rows"])
    return BatchLoadReport(source.name, len(exports), skipped, refused, tuple(corrected))


def load_batches(settings: Settings, sources: Sequence[str] = ()) -> list[BatchLoadReport]:
    """Load every new file of the named batch sources (all of them by default)."""
    unknown = set(sources) - BATCH_SOURCES.keys()
    if unknown:
        raise ValueError(f"unknown batch sources {sorted(unknown)}; known: {sorted(BATCH_SOURCES)}")
    return [load_source(settings, BATCH_SOURCES[name]) for name in (sources or BATCH_SOURCES)]

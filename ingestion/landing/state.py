"""Whether anything landed since the last streaming build, on the local warehouse.

A refresh with nothing new would still run every node of the build (each a few queries of
materialization bookkeeping: seconds in all) to append nothing. The build records what the
landings held when it started (the newest lander page, the highest replay and export loads) and
the project files it built with; the next refresh skips dbt while both are unchanged, and builds
only what the stream feeds while nothing else changed (no export loaded, no seed or model
edited): the seeds and the batch-only models would be rebuilt to the same rows. Redshift
targets always build everything: their landing is the streaming view, refreshed by the DAG.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml  # type: ignore[import-untyped, unused-ignore]  # stubs are not installed

from ingestion.config import warehouse
from ingestion.config.settings import REPO_ROOT, Settings

# What the stream side feeds (stream_events and its replays), then what only batch loads feed.
_STREAM_LANDINGS = {
    "lander.kinesis_records": "max(refresh_time)",
    "lander.backfill_records": "max(load_seq)",
}
_BATCH_LANDINGS = {
    "lander.crm_donor_exports": "max(load_seq)",
    "lander.processor_settlements": "max(load_seq)",
    # Every export load, rows or none: a corrected version holding only its header withdraws an
    # older file's rows and lands none, below another file's newer load in the landing.
    "lander.batch_export_ledger": "max(load_seq)",
}
_LANDINGS = {**_BATCH_LANDINGS, **_STREAM_LANDINGS}
# Fields of the fingerprint before the stream landings': the project, the file, the exports.
_UPSTREAM_FIELDS = 2 + len(_BATCH_LANDINGS)
# What a build reads of the project, as dbt_project.yml names it (never a list of its own to go
# stale beside it).
_PROJECT_PATHS = ("model-paths", "macro-paths", "seed-paths", "snapshot-paths", "test-paths")


def project_paths() -> tuple[str, ...]:
    project = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())
    return (
        "dbt_project.yml",
        *(path for key in _PROJECT_PATHS for path in project.get(key) or ()),
    )


def _project_hash() -> str:
    digest = hashlib.sha256()
    for name in project_paths():
        root = REPO_ROOT / name
        for path in sorted([root] if root.is_file() else root.rglob("*")):
            if path.is_file():
                digest.update(str(path.relative_to(REPO_ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(settings: Settings) -> str | None:
    """What the landings hold now and the project that builds them; None when not local."""
    if settings.dbt_target != "local" or not settings.warehouse_path.exists():
        return None
    with warehouse.connect(settings.warehouse_path) as con:
        existing = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        # An absent table and an empty one hold the same: nothing (a build creates them empty).
        held = [
            # S608: table and column names are this module's constants.
            str(con.execute(f"select {newest} from {table}").fetchone())  # noqa: S608
            if table in existing
            else "(None,)"
            for table, newest in _LANDINGS.items()
        ]
    return "|".join([_project_hash(), str(settings.warehouse_path), *held])


def _path(settings: Settings) -> Path:
    return settings.dbt_target_dir / "landing-fingerprint"


def unchanged_since_last_build(settings: Settings, current: str | None) -> bool:
    path = _path(settings)
    return current is not None and path.exists() and path.read_text() == current


def only_stream_landed(settings: Settings, current: str | None) -> bool:
    """Whether, since the last build, only the stream side changed: the project, the file and
    the batch landings are as that build saw them."""
    path = _path(settings)
    if current is None or not path.exists():
        return False
    before = path.read_text().split("|")[:_UPSTREAM_FIELDS]
    return before == current.split("|")[:_UPSTREAM_FIELDS]


def record_build(settings: Settings, current: str | None) -> None:
    if current is not None:
        _path(settings).parent.mkdir(parents=True, exist_ok=True)
        _path(settings).write_text(current)


def upstream_of_last_build(settings: Settings) -> str | None:
    """The project, file and batch landings the last build saw (not the stream's): what, when it
    changes, can change rows without a new stream batch (ingestion/serving/copy.py)."""
    path = _path(settings)
    if not path.exists():
        return None
    return "|".join(path.read_text().split("|")[:_UPSTREAM_FIELDS])

"""The serving copy: the public marts of the local warehouse, published atomically per refresh."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.config import warehouse
from ingestion.config.settings import Settings
from ingestion.operations.alerts import read_alerts

PUBLIC_SCHEMA = "marts"
# Operations logs the operations dashboard reads; neither holds donor data (quarantined_events
# keeps each record's raw text, so it stays out).
OPS_TABLES = ("pipeline_freshness", "agg_quarantine_reasons")


def serving_path(settings: Settings) -> Path:
    """One serving copy per state dir: whichever warehouse refreshed last (a demo's included)."""
    return settings.state_dir / "serving.duckdb"


@dataclass(frozen=True)
class Published:
    path: Path
    tables: tuple[str, ...]
    published_at: datetime


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def publish(settings: Settings) -> Published:
    """Copy the public marts, the operations logs and the local alerts into a new file, then
    swap it in place of the serving copy: a reader sees the previous refresh or this one."""
    target = serving_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    published_at = datetime.now(UTC)
    with warehouse.connect(settings.warehouse_path) as con:
        tables = [
            f"{schema}.{name}"
            for schema, name in con.execute(
                """
                select table_schema, table_name from information_schema.tables
                where table_catalog = current_database() and (
                    table_schema = ? or (table_schema = 'ops' and list_contains(?, table_name))
                )
                order by 1, 2
                """,
                [PUBLIC_SCHEMA, list(OPS_TABLES)],
            ).fetchall()
        ]
        con.execute(f"attach {_quoted(staged)} as serving")
        try:
            for schema in (PUBLIC_SCHEMA, "ops"):
                con.execute(f"create schema serving.{schema}")
            for table in tables:
                # S608: table names come from the warehouse catalog, not from input.
                con.execute(f"create table serving.{table} as select * from {table}")  # noqa: S608
            _copy_alerts(con, settings)
            con.execute(
                "create table serving.ops.serving_published as "
                "select ?::varchar as warehouse_path, ?::timestamptz as published_at",
                [str(settings.warehouse_path), published_at],
            )
        finally:
            con.execute("detach serving")
    os.replace(staged, target)
    return Published(target, tuple(tables), published_at)


def _copy_alerts(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The local alert sink's data-quality and reconcile failures (SNS carries them in AWS)."""
    con.execute(
        """
        create table serving.ops.alerts (
            raised_at timestamptz, dag_id varchar, task_id varchar, summary varchar,
            measured varchar, threshold varchar, runbook varchar
        )
        """
    )
    rows = [
        (
            a["raised_at"],
            a["dag_id"],
            a["task_id"],
            a["summary"],
            a["measured"],
            a["threshold"],
            a["runbook"],
        )
        for a in read_alerts(settings)
    ]
    if rows:
        con.executemany("insert into serving.ops.alerts values (?, ?, ?, ?, ?, ?, ?)", rows)

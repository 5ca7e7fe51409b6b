"""The serving copy: the public marts of the local warehouse, published per refresh by writing
only what changed.

Two files take turns (``serving.a.duckdb``, ``serving.b.duckdb``); ``serving.duckdb`` is a
symbolic link to the one last published. A publish brings the other file up to date and then
swaps the link with ``os.replace``, so a reader opening ``serving.duckdb`` gets one whole
refresh, and a reader already open keeps the refresh it opened (DuckDB readers lock the file
they hold, and a publish never writes the file the link points at).

The file being brought up to date is two publishes behind, so it is brought forward by the rows
that changed since its own cursor, table by table:

- a mart with a unique key and a change column (``landed_batch``, the newest batch behind each
  row; ``reconciled_pass`` for the reconciliation), while only the stream landed since the
  file's publish: the rows past the file's cursor are read by that column (which prunes), their
  keys deleted from the file and the rows inserted, with any older rows of those keys; a key the
  warehouse no longer holds (a withdrawn row) is deleted when the counts disagree;
- a mart with a unique key but no change column (open orders, the refresh log), or any keyed
  mart after a batch export loaded, the project changed or its change column went back (a CRM
  export rewrites donors without a stream batch; a full refresh renumbers passes): the rows that
  differ (``except`` both ways) are replaced by key, which reads both copies and writes only
  the difference;
- anything else (small aggregates, the alerts, a table whose columns changed): copied whole.

So the publish writes the changed rows, not the history. A file that is missing, from an
older layout, or held by a reader for longer than a publish waits is written whole afresh (a
reader of the old file keeps it: it is unlinked, never overwritten).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingestion.config import warehouse
from ingestion.config.settings import Settings
from ingestion.landing import state as landing_state
from ingestion.operations.alerts import read_alerts
from ingestion.operations.metrics import Stamped, stamp_visible

PUBLIC_SCHEMA = "marts"
# Operations logs the operations dashboard reads; none holds donor data (quarantined_events
# keeps each record's raw text, so it stays out).
OPS_TABLES = ("pipeline_freshness", "agg_quarantine_reasons", "dbt_node_results")
FRESHNESS_LOG = "ops.pipeline_freshness"
GENERATIONS = ("a", "b")
# How long a publish waits for readers to let go of the file it is about to update.
READER_WAIT_SECONDS = 2.0
BATCH_COLUMN = "landed_batch"
# Marts whose rows another column than landed_batch advances on every write: a reconciliation
# pass rewrites its transactions under the next `reconciled_pass`, whatever batch they hold.
CHANGE_COLUMNS = {"marts.rpt_settlement_reconciliation": "reconciled_pass"}

log = logging.getLogger(__name__)


def serving_path(settings: Settings) -> Path:
    """One serving copy per state dir: whichever warehouse refreshed last (a demo's included)."""
    return settings.state_dir / "serving.duckdb"


def generation_path(settings: Settings, generation: str) -> Path:
    return settings.state_dir / f"serving.{generation}.duckdb"


@dataclass(frozen=True)
class Published:
    path: Path
    tables: tuple[str, ...]
    published_at: datetime
    # Rows written into the copy per table (inserted plus deleted); whole copies count all rows.
    rows_written: dict[str, int]
    whole: bool
    # P95 seconds from emitted_at to this publish over the latest refresh's gifts, when this
    # publish made a new refresh visible (ops.pipeline_freshness).
    dashboard_freshness_p95_seconds: float | None = None


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _next_generation(settings: Settings) -> Path:
    link = serving_path(settings)
    current = os.readlink(link) if link.is_symlink() else None
    for generation in GENERATIONS:
        path = generation_path(settings, generation)
        if path.name != current:
            return path
    raise AssertionError("unreachable: two generations, one current")


def _unique_keys(settings: Settings) -> dict[str, list[str]]:
    """Each model's unique key, from the manifest the last dbt invocation wrote."""
    manifest = settings.dbt_target_dir / "manifest.json"
    if not manifest.exists():
        return {}
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    keys: dict[str, list[str]] = {}
    for node in nodes:
        key = node.get("config", {}).get("unique_key")
        if node.get("resource_type") == "model" and key:
            keys[f"{node['schema']}.{node['alias'] or node['name']}"] = (
                [key] if isinstance(key, str) else list(key)
            )
    return keys


def _columns(con: duckdb.DuckDBPyConnection, catalog: str, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return [
        (column, str(kind))
        for column, kind in con.execute(
            """
            select column_name, data_type from information_schema.columns
            where table_catalog = ? and table_schema = ? and table_name = ?
            order by ordinal_position
            """,
            [catalog, schema, name],
        ).fetchall()
    ]


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    # S608: table names come from the warehouse catalog, not from input.
    row = con.execute(f"select count(*) from {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _held(error: duckdb.Error) -> bool:
    # Another process's reader holds its lock; a reader in this process has it attached.
    text = str(error).lower()
    return "lock" in text or "already attached" in text


def _attach(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Attach ``path`` as ``serving``; False when a reader holds it past the wait."""
    deadline = time.monotonic() + READER_WAIT_SECONDS
    while True:
        try:
            con.execute(f"attach {_quoted(path)} as serving")
            return True
        except (duckdb.IOException, duckdb.BinderException) as error:
            if not _held(error):
                raise
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def _batch_cursors(con: duckdb.DuckDBPyConnection, upstream: str | None) -> dict[str, int] | None:
    """The copy's batch per table ({} when something besides the stream changed since its
    publish), or None when the file is not a copy this code wrote."""
    try:
        rows = con.execute("select table_name, landed_batch from serving.ops.serving_cursors")
        cursors = {name: int(batch) for name, batch in rows.fetchall()}
        (before,) = con.execute(
            "select upstream from serving.ops.serving_published"
        ).fetchone() or (None,)
    except duckdb.Error:
        return None
    return cursors if upstream is not None and before == upstream else {}


def publish(settings: Settings) -> Published:
    """Bring the other generation up to date with the warehouse and swap the link to it."""
    link = serving_path(settings)
    link.parent.mkdir(parents=True, exist_ok=True)
    target = _next_generation(settings)
    keys = _unique_keys(settings)
    upstream = landing_state.upstream_of_last_build(settings)
    with warehouse.connect(settings.warehouse_path) as con:
        tables = _public_tables(con)
        whole = not target.exists() or not _attach(con, target)
        if whole:
            # Missing, or held by a reader: a new file under the same name; the reader keeps
            # the old one's inode.
            target.unlink(missing_ok=True)
            target.with_name(target.name + ".wal").unlink(missing_ok=True)
            con.execute(f"attach {_quoted(target)} as serving")
        try:
            cursors = None if whole else _batch_cursors(con, upstream)
            if cursors is None:
                whole = True
                _reset(con)
            written = {
                table: _bring_forward(con, table, keys.get(table), cursors) for table in tables
            }
            written["ops.alerts"] = _copy_alerts(con, settings)
            published_at = datetime.now(UTC)
            stamped = _stamp_visible(con, published_at)
            con.execute(
                "create or replace table serving.ops.serving_published as select ?::varchar "
                "as warehouse_path, ?::timestamptz as published_at, ?::varchar as upstream",
                [str(settings.warehouse_path), published_at, upstream],
            )
        finally:
            con.execute("detach serving")
    staged = link.with_name(f".{link.name}.{os.getpid()}.link")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target.name)
    os.replace(staged, link)
    log.info("published %s: %s", target.name, written)
    return Published(
        link,
        tuple(tables),
        published_at,
        written,
        whole,
        stamped.dashboard_freshness_p95_seconds if stamped else None,
    )


def _public_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_catalog = current_database() and table_type = 'BASE TABLE' and (
                table_schema = ? or (table_schema = 'ops' and list_contains(?, table_name))
            )
            order by 1, 2
            """,
            [PUBLIC_SCHEMA, list(OPS_TABLES)],
        ).fetchall()
    ]


def _reset(con: duckdb.DuckDBPyConnection) -> None:
    """An empty copy: the schemas and the cursor table, every table to be copied whole."""
    for schema in (PUBLIC_SCHEMA, "ops"):
        con.execute(f"drop schema if exists serving.{schema} cascade")
        con.execute(f"create schema serving.{schema}")
    con.execute(
        "create table serving.ops.serving_cursors (table_name varchar primary key, "
        "landed_batch bigint not null)"
    )


def _bring_forward(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key: list[str] | None,
    cursors: dict[str, int] | None,
) -> int:
    """Make ``serving.<table>`` equal to the warehouse's; returns the rows written."""
    columns = _columns(con, con.execute("select current_database()").fetchone()[0], table)  # type: ignore[index]
    names = [name for name, _ in columns]
    same_shape = _columns(con, "serving", table) == columns
    if not (key and same_shape and set(key) <= set(names)):
        con.execute(f"create or replace table serving.{table} as select * from {table}")  # noqa: S608
        _record_batch(con, table, names)
        return _count(con, table)
    change = CHANGE_COLUMNS.get(table, BATCH_COLUMN)
    newest = _newest(con, table, change) if change in names else None
    batch = cursors.get(table) if cursors is not None else None
    if newest is not None and batch is not None and newest >= batch:
        written = _bring_forward_past(con, table, key, f"{change} > {int(batch)}")
    else:
        written = _bring_forward_differences(con, table, key)
    if _count(con, f"serving.{table}") != _count(con, table):
        # A key withdrawn from the warehouse (the copy holds every key it holds, and more).
        gone = " and ".join(f"current.{k} = kept.{k}" for k in key)
        written += _rows(
            con,
            f"delete from serving.{table} as kept where not exists "  # noqa: S608
            f"(select 1 from {table} as current where {gone})",
        )
    if newest is not None:
        _record_cursor(con, table, newest)
    return written


# S608 in the functions below: table and column names come from the warehouse catalog, the
# manifest and this module; the cursor is an integer.


def _bring_forward_past(
    con: duckdb.DuckDBPyConnection, table: str, key: list[str], past: str
) -> int:
    """The rows written since the copy's cursor (``past``), read by the change column alone,
    which the warehouse prunes by: a refresh's cost, not the table's. A key's rows go together,
    so a key that also holds older rows (a donor's earlier versions) has those copied too,
    found by reading the key columns only."""
    con.execute(f"create or replace temp table changed_rows as select * from {table} where {past}")  # noqa: S608
    if not _count(con, "changed_rows"):
        return 0
    written = _delete_keys(con, table, key, "changed_rows")
    written += _rows(con, f"insert into serving.{table} select * from changed_rows")  # noqa: S608
    on = _on_changed_keys(key)
    # A row with no change value (a donor version from a CRM export has no batch) is older.
    older = f"from {table} as kept semi join changed_keys on {on} where not coalesce({past}, false)"
    if _rows(con, f"select count(*) {older}"):
        written += _rows(con, f"insert into serving.{table} select kept.* {older}")
    return written


def _bring_forward_differences(con: duckdb.DuckDBPyConnection, table: str, key: list[str]) -> int:
    """The rows that differ (``except`` both ways), replaced by key: reads both copies whole."""
    differing = f"(select * from {table} except select * from serving.{table})"  # noqa: S608
    written = _delete_keys(con, table, key, differing)
    return written + _rows(
        con,
        f"insert into serving.{table} select kept.* from {table} as kept "  # noqa: S608
        f"semi join changed_keys on {_on_changed_keys(key)}",
    )


def _on_changed_keys(key: list[str]) -> str:
    return " and ".join(f"kept.{k} = changed_keys.{k}" for k in key)


def _delete_keys(con: duckdb.DuckDBPyConnection, table: str, key: list[str], rows: str) -> int:
    """The keys of ``rows`` (a relation) as temp table ``changed_keys``, deleted from the copy;
    returns the rows deleted."""
    con.execute(
        f"create or replace temp table changed_keys as select distinct {', '.join(key)} "  # noqa: S608
        f"from {rows}"
    )
    return _rows(
        con,
        f"delete from serving.{table} as kept using changed_keys where {_on_changed_keys(key)}",  # noqa: S608
    )


def _newest(con: duckdb.DuckDBPyConnection, table: str, column: str) -> int:
    row = con.execute(f"select coalesce(max({column}), 0) from {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


def _record_batch(con: duckdb.DuckDBPyConnection, table: str, names: list[str]) -> None:
    change = CHANGE_COLUMNS.get(table, BATCH_COLUMN)
    if change in names:
        _record_cursor(con, table, _newest(con, table, change))


def _record_cursor(con: duckdb.DuckDBPyConnection, table: str, newest: int) -> None:
    con.execute("insert or replace into serving.ops.serving_cursors values (?, ?)", [table, newest])


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _stamp_visible(con: duckdb.DuckDBPyConnection, published_at: datetime) -> Stamped | None:
    """Source to dashboard for the latest refresh: its gifts become visible with this publish.
    Written in the warehouse's refresh log and in the copy's."""
    if not any(name == "published_at" for name, _ in _columns(con, "serving", FRESHNESS_LOG)):
        return None
    stamped = stamp_visible(con, published_at)
    if stamped is not None:
        con.execute(
            "delete from serving.ops.pipeline_freshness where invocation_id = ?",
            [stamped.invocation_id],
        )
        con.execute(
            "insert into serving.ops.pipeline_freshness "
            "select * from ops.pipeline_freshness where invocation_id = ?",
            [stamped.invocation_id],
        )
    return stamped


def _copy_alerts(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """The local alert sink's data-quality and reconcile failures (SNS carries them in AWS)."""
    con.execute(
        """
        create or replace table serving.ops.alerts (
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
    return len(rows)

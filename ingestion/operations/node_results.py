"""Each refresh's per-node dbt results, kept where the operations dashboard reads them.

``ops.dbt_node_results`` holds one row per node of each of the last ``KEPT_REFRESHES``
refreshes that built: name, status, seconds and, on Redshift, the rows its statement wrote. The
minute writes it from dbt's own result object (the invocation in its process), so a build that
runs beside it in another process cannot swap the results under it. A refresh's rows are
replaced, never added twice (an Airflow retry records its own invocation), and the oldest
refreshes are deleted as new ones arrive, so the table stays a few thousand rows.

Locally the table lives in the warehouse's ``ops`` schema and reaches the dashboards with the
serving copy; on Redshift the operations role reads it where it is. It holds model and test
names, never data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ingestion.config import redshift, warehouse
from ingestion.config.dbt import NodeRun
from ingestion.config.settings import Settings

TABLE = "ops.dbt_node_results"
# Three hours of refreshes at one a minute.
KEPT_REFRESHES = 180
_COLUMNS = (
    "invocation_id",
    "built_at",
    "unique_id",
    "node_name",
    "resource_type",
    "status",
    "execution_seconds",
    "rows_affected",
)

CREATE_SQL = f"""
create table if not exists {TABLE} (
    invocation_id varchar(64) not null,
    built_at timestamp not null,
    unique_id varchar(512) not null,
    node_name varchar(512) not null,
    resource_type varchar(32) not null,
    status varchar(32) not null,
    execution_seconds double precision not null,
    rows_affected bigint
)
"""
# The operations page's role reads it on Redshift. The table is no dbt model, so its grant is
# made here, by the refresh that writes it; the role is operations_role() of
# macros/grants/analyst_access.sql, which creates it.
OPERATIONS_ROLE = "accfb_operations"
GRANT_SQL = f"grant select on table {TABLE} to role {OPERATIONS_ROLE}"
# The refreshes past the newest KEPT_REFRESHES, in both warehouses' SQL.
PRUNE_SQL = f"""
delete from {TABLE}
where built_at < (
    select min(kept.built_at)
    from (
        select distinct built_at
        from {TABLE}
        order by built_at desc
        limit {KEPT_REFRESHES}
    ) as kept
)
"""  # noqa: S608 - module constants


# DuckDB: one column list per parameter, so the insert plans once whatever the node count (a
# parameter per value costs milliseconds per row to bind).
_DUCKDB_TYPES = (
    "varchar",
    "timestamp",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "double",
    "bigint",
)
DUCKDB_INSERT_SQL = f"insert into {TABLE} ({', '.join(_COLUMNS)}) select " + ", ".join(
    f"unnest(${position}::{kind}[])" for position, kind in enumerate(_DUCKDB_TYPES, start=1)
)
DELETE_SQL = f"delete from {TABLE} where invocation_id = %s"  # noqa: S608 - constants


def redshift_insert_sql(rows: int) -> str:
    """One multi-row insert: one round trip to Redshift for the whole refresh."""
    row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
    return f"insert into {TABLE} ({', '.join(_COLUMNS)}) values " + ", ".join([row] * rows)  # noqa: S608 - constants


def _rows(invocation_id: str, built_at: datetime, runs: Sequence[NodeRun]) -> list[tuple[Any, ...]]:
    naive = built_at.astimezone(UTC).replace(tzinfo=None)
    return [
        (
            invocation_id,
            naive,
            run.unique_id,
            run.name,
            run.resource_type,
            run.status,
            run.seconds,
            run.rows_affected,
        )
        for run in runs
    ]


def record(
    settings: Settings, invocation_id: str, built_at: datetime, runs: Sequence[NodeRun]
) -> int:
    """Replace the refresh's rows with ``runs`` and drop the refreshes past the kept number;
    returns the rows written."""
    if not runs:
        return 0
    rows = _rows(invocation_id, built_at, runs)
    if settings.dbt_target == "local":
        with warehouse.connect(settings.warehouse_path) as con:
            con.execute("create schema if not exists ops")
            con.execute(CREATE_SQL)
            con.execute("begin")
            con.execute(DELETE_SQL.replace("%s", "?"), [invocation_id])
            con.execute(DUCKDB_INSERT_SQL, [list(column) for column in zip(*rows, strict=True)])
            con.execute(PRUNE_SQL)
            con.execute("commit")
        return len(rows)
    con = redshift.connect(settings)
    try:
        cursor = con.cursor()
        cursor.execute(CREATE_SQL)
        cursor.execute(GRANT_SQL)
        cursor.execute(DELETE_SQL, (invocation_id,))
        cursor.execute(redshift_insert_sql(len(rows)), tuple(v for row in rows for v in row))
        cursor.execute(PRUNE_SQL)
        con.commit()
    finally:
        con.close()
    return len(rows)

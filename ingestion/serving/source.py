"""Where analysts' queries go: the serving copy locally, the Redshift marts on a Redshift target.

The dashboards' SQL is written once, in the dialect both warehouses share (``date_trunc``,
``cast``, ``case``), against the schema names every environment uses (``marts``, ``ops``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import pandas as pd

from ingestion.config import redshift
from ingestion.config.settings import Settings
from ingestion.serving.copy import serving_path


class NotPublished(RuntimeError):
    """No refresh has published a serving copy under this state dir yet."""


# Redshift's marts change with every refresh and have no publish to watch: read them again once
# a minute.
REDSHIFT_VERSION_SECONDS = 60


def version(settings: Settings) -> float:
    """Changes whenever a refresh publishes: the modification time of the generation the serving
    copy's link points at (each publish writes the other one and swaps the link). On Redshift
    the current minute."""
    if settings.dbt_target != "local":
        return float(time.time() // REDSHIFT_VERSION_SECONDS)
    path = serving_path(settings)
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return -1.0


@contextmanager
def _local(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    path = serving_path(settings)
    if not path.exists():
        raise NotPublished(f"no serving copy at {path}: run `accfb refresh` or `accfb demo` first")
    # Read-only: any number of readers share the file, and none can change what they read.
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _redshift_connection(settings: Settings) -> Any:
    return redshift.connect(settings)


def query(settings: Settings, sql: str) -> pd.DataFrame:
    """Run one read query against the marts of the settings' target."""
    if settings.dbt_target == "local":
        with _local(settings) as con:
            return con.execute(sql).df()
    connection = _redshift_connection(settings)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        frame = cursor.fetch_dataframe()
        return frame if frame is not None else pd.DataFrame()
    finally:
        connection.close()

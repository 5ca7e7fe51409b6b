"""Access to the local DuckDB warehouse file, shared by turns between processes.

DuckDB lets one process hold a database file at a time. The lander, dbt, Soda and an analyst's
session therefore each open the file, do a short piece of work and close it; a caller that finds
the file held waits with backoff instead of failing (dbt does the same through its profile's
``retries.connect_attempts``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random_exponential


def _is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


@retry(
    retry=retry_if_exception(_is_lock_conflict),
    wait=wait_random_exponential(multiplier=0.05, max=2),
    stop=stop_after_delay(120),
    reraise=True,
)
def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path))


@contextmanager
def connect(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting while another process holds it, and always close it.

    Always read-write, with DuckDB's default configuration: inside one process DuckDB shares a
    single instance per file and refuses a second connection with other settings, and dbt run
    in-process (``ingestion.config.dbt``) keeps its read-write connection open.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path)
    try:
        yield con
    finally:
        con.close()

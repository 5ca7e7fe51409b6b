"""DuckDB's way to the (local) S3 endpoint, shared by the dbt load macros and the audit tools.

duckdb 1.4.4 cannot download extensions here; the `duckdb-ext-httpfs` wheel ships httpfs. It is
loaded with SET and LOAD on an already open default-config connection, never through connect-time
config: inside one process DuckDB shares one instance per file and refuses a second connection
whose config differs, and the lander, the CLI and in-process dbt all open the warehouse with the
default config (ingestion/warehouse.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from ingestion.settings import Settings


def extension_directory() -> Path:
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the duckdb-ext-httpfs wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "extensions"


def s3_endpoint(settings: Settings) -> str:
    """host:port of the local endpoint, as DuckDB's S3 secret wants it."""
    if settings.aws_endpoint_url is None:
        raise RuntimeError("DuckDB reads S3 only through the local endpoint in this project")
    return urlsplit(settings.aws_endpoint_url).netloc


def dbt_environment(settings: Settings) -> dict[str, str]:
    """What the load macros (macros/batch/load_from_s3.sql) read on DuckDB.

    Environment rather than dbt vars: a change of vars makes dbt re-parse the whole project,
    while a macro's env_var is read only when the macro runs.
    """
    return {
        "ACCFB_DUCKDB_EXTENSION_DIRECTORY": str(extension_directory()),
        "ACCFB_DUCKDB_S3_ENDPOINT": s3_endpoint(settings),
        "ACCFB_AWS_REGION": settings.aws_region,
    }


def enable_s3(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Let ``con`` read ``s3://`` URLs from the local endpoint (the same as the dbt macro)."""
    con.execute("set autoinstall_known_extensions = false")
    con.execute(f"set extension_directory = '{extension_directory()}'")
    con.execute("load httpfs")
    con.execute(
        "create or replace secret accfb_s3 (type s3, key_id 'local', secret 'local', "
        f"region '{settings.aws_region}', endpoint '{s3_endpoint(settings)}', "
        "url_style 'path', use_ssl false)"
    )


def s3_url(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"

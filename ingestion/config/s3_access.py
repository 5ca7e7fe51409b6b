"""How the warehouse reads S3: DuckDB's way to the local endpoint, load manifests, load macros.

Replays and batch loads both name the objects to load in a manifest and run one load macro of
macros/batch/load_from_s3.sql (COPY ... MANIFEST on Redshift, DuckDB over the same objects
locally), so those two steps live here once.

duckdb 1.4.4 cannot download extensions here; the `duckdb-ext-httpfs` wheel ships httpfs. It is
loaded with SET and LOAD on an already open default-config connection, never through connect-time
config: inside one process DuckDB shares one instance per file and refuses a second connection
whose config differs, and the lander, the CLI and in-process dbt all open the warehouse with the
default config (ingestion/config/warehouse.py).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
from botocore.exceptions import ClientError

from ingestion.config import dbt
from ingestion.config.settings import Settings

MANIFEST_PREFIX = "manifests/"


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


def write_manifest(s3: Any, bucket: str, purpose: str, keys: Iterable[str]) -> str:
    """A COPY manifest naming exactly ``keys``; its key is its content's hash (written once)."""
    body = json.dumps(
        {"entries": [{"url": s3_url(bucket, k), "mandatory": True} for k in keys]},
        indent=1,
    ).encode()
    key = f"{MANIFEST_PREFIX}{purpose}/{hashlib.sha256(body).hexdigest()[:24]}.json"
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
            raise
    return s3_url(bucket, key)


def run_load(settings: Settings, macro: str, args: dict[str, Any]) -> dbt.DbtResult:
    """Run one load macro of macros/batch/load_from_s3.sql, with DuckDB's way to S3 locally."""
    if settings.dbt_target == "local":
        os.environ.update(dbt_environment(settings))
    return dbt.run_dbt(settings, ["run-operation", macro, "--args", json.dumps(args)])

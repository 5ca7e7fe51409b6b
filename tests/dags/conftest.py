"""Airflow for the DAG tests: its own home and SQLite metadata database per session, the
repository's DAGs, and a dbt manifest built once with ``dbt parse`` as CI and the deploy do.

Airflow reads its configuration on import, so the environment is set before anything imports it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingestion.config.settings import REPO_ROOT, Settings

_HOME = Path(tempfile.mkdtemp(prefix="accfb-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__COSMOS__CACHE_DIR": str(_HOME / "cosmos"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "ACCFB_DBT_MANIFEST": str(_HOME / "dbt" / "manifest.json"),
    }
)
sys.path.insert(0, str(REPO_ROOT / "dags"))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated metadata database and a manifest for Cosmos to render from."""
    bin_dir = Path(sys.executable).parent
    subprocess.run([bin_dir / "airflow", "db", "migrate"], check=True, capture_output=True)
    subprocess.run(
        [bin_dir / "dbt", "parse", "--quiet", "--target-path", str(_HOME / "dbt")],
        check=True,
        cwd=REPO_ROOT,
        env={**os.environ, "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles")},
    )
    return _HOME


@pytest.fixture
def dag_env(
    settings: Settings, airflow_db: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Point the DAGs' tasks (which read Settings from the environment) at this test's stream,
    warehouse and state dir, in campaign mode so every minute is due."""
    for key, value in {
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
        "ACCFB_POLL_INTERVAL_SECONDS": "0.2",
        "AIRFLOW_VAR_ACCFB_OPERATING_MODE": "campaign",
    }.items():
        monkeypatch.setenv(key, value)
    yield settings

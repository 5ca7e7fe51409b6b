"""`accfb airflow`: Airflow 3 on 127.0.0.1 with the repository's DAGs wired to the local default.

Everything Airflow keeps (its SQLite database, logs, Cosmos cache) lives under the state dir, so
`make clean` removes it. The dbt manifest the DAGs render from is built first with `dbt parse`,
as the deploy does for MWAA.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ingestion import dbt, localaws
from ingestion.dbt import TELEMETRY_OFF
from ingestion.settings import REPO_ROOT, Settings


def airflow_environment(settings: Settings, port: int) -> dict[str, str]:
    home = settings.state_dir / "airflow"
    return {
        **TELEMETRY_OFF,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        # Tasks report to the API server; its default URL assumes port 8080.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        # One user on a laptop: no login page.
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "ACCFB_STATE_DIR": str(settings.state_dir.resolve()),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path.resolve()),
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
    }


def prepare(settings: Settings, port: int) -> dict[str, str]:
    """Start the local endpoint, build the manifest; return the environment Airflow runs with."""
    localaws.ensure_up(settings)
    dbt.run_dbt(settings, ["parse"])
    env = airflow_environment(settings, port)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


def run_standalone(settings: Settings, port: int) -> None:
    """Replace this process with `airflow standalone` (API server, scheduler, DAG processor and
    triggerer in one): Ctrl-C stops them all."""
    bin_dir = Path(sys.executable).parent
    # standalone starts its components as `airflow ...` subprocesses found on PATH.
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    env = {**os.environ, **prepare(settings, port), "PATH": path}
    airflow = bin_dir / "airflow"
    os.execve(airflow, [str(airflow), "standalone"], env)

"""`accfb airflow`: Airflow 3 on 127.0.0.1 with the repository's DAGs wired to the local default.

Everything Airflow keeps (its SQLite database, logs, Cosmos cache) lives under the state dir, so
`make clean` removes it. The dbt manifest the DAGs render from is built first with `dbt parse`,
as the deploy does for MWAA.

It runs the components `airflow standalone` runs, but not standalone itself: standalone starts
the scheduler's and the triggerer's log servers, which bind every interface (ports 8793 and
8794; Airflow 3.3 has no setting for their host). Every component here writes task logs to the
one folder the API server reads them from, so the log servers are skipped and nothing listens
beyond the API server on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

from ingestion.config import dbt
from ingestion.config.constants import WAREHOUSE_POOL
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import REPO_ROOT, Settings
from ingestion.local import localaws


def airflow_environment(settings: Settings, port: int) -> dict[str, str]:
    home = settings.state_dir / "airflow"
    return {
        **TELEMETRY_OFF,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # Airflow's default of 32 worker processes swamps a laptop, and the DAGs' tasks take
        # turns on the one DuckDB file anyway.
        "AIRFLOW__CORE__PARALLELISM": "4",
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


# What `airflow standalone` runs, with the log servers skipped (see the module docstring).
COMPONENTS: tuple[tuple[str, ...], ...] = (
    ("api-server",),
    ("scheduler", "--skip-serve-logs"),
    ("dag-processor",),
    ("triggerer", "--skip-serve-logs"),
)
STOP_SECONDS = 30


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_local(settings: Settings, port: int) -> None:
    """Migrate the metadata database, run the components until one exits or Ctrl-C (or SIGTERM),
    then stop them all: a half-running Airflow would only mislead."""
    bin_dir = Path(sys.executable).parent
    airflow = str(bin_dir / "airflow")
    # Components start their task runners as `airflow ...` found on PATH.
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    env = {**os.environ, **prepare(settings, port), "PATH": path}
    # S603: a fixed argument list of this project's own executables.
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    # The one-slot pool every warehouse writer runs in (ingestion/config/constants.py).
    subprocess.run(  # noqa: S603
        [airflow, "pools", "set", WAREHOUSE_POOL, "1", "One writer to the warehouse at a time"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    signal.signal(signal.SIGTERM, _stop)
    # S603: a fixed argument list of this project's own executables.
    running = [subprocess.Popen([airflow, *component], env=env) for component in COMPONENTS]  # noqa: S603
    try:
        while all(process.poll() is None for process in running):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for process in running:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()

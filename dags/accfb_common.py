"""What every ACCFB DAG shares: the Cosmos configs, default task arguments and the alerting.

DAGs are parsed from a dbt manifest built ahead of time (``dbt parse``: in CI, by ``make
airflow``, or by the deploy), never by running dbt at parse time. Paths follow the repository
layout with environment overrides, as on MWAA where the project ships beside the DAGs.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import airflow  # noqa: F401  (must precede cosmos: cosmos reads airflow's version on import)
from airflow.sdk.exceptions import AirflowFailException

from ingestion.config.constants import WAREHOUSE_POOL
from ingestion.config.settings import Settings
from ingestion.operations.alerts import Alert, one_line, send_alert, settle, without_values

# Only what parsing needs is imported here: warehouse clients (DuckDB, Soda) load inside tasks,
# and Cosmos (over a second of imports) only for the DAGs it renders, not for the minute's.
if TYPE_CHECKING:
    from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig

    from ingestion.operations.checks import CheckReport
    from ingestion.operations.reconcile import ReconcileRow

PROJECT_DIR = Path(os.environ.get("ACCFB_DBT_PROJECT_DIR", Path(__file__).resolve().parent.parent))
OWNER = "data-platform"
# Everything downstream of the streaming landing plus what it reads (seeds, batch staging): what
# the refresh and a backfill rebuild (the same selection as `accfb refresh`).
STREAMING_SELECTOR = "@stream_events"


def settings() -> Settings:
    """Read from the environment on every call: where a task runs, its worker's decides."""
    return Settings.from_environment()


def dbt_environment() -> None:
    """Point dbt at the settings' warehouse and target. Cosmos runs dbt from a copy of the
    project in a temporary folder, where profiles.yml's relative default path would miss the
    warehouse; dbt runs in the task's process, so its environment is this process's."""
    from ingestion.config.dbt import dbt_environment as environment

    for key, value in environment(settings()).items():
        if key.startswith(("ACCFB_", "DBT_SEND", "DO_NOT", "SODA", "AIRFLOW__COSMOS")):
            os.environ[key] = value


def manifest_path() -> Path:
    return Path(os.environ.get("ACCFB_DBT_MANIFEST", settings().dbt_target_dir / "manifest.json"))


def project_config() -> ProjectConfig:
    from cosmos import ProjectConfig

    return ProjectConfig(
        dbt_project_path=PROJECT_DIR,
        manifest_path=manifest_path(),
        # Cosmos runs dbt in a fresh temporary copy of the project each time; a cached partial
        # parse keeps the previous copy's seed paths and the second run's seeds fail to load.
        partial_parse=False,
    )


def profile_config() -> ProfileConfig:
    from cosmos import ProfileConfig

    return ProfileConfig(
        profile_name="accfb",
        target_name=settings().dbt_target,
        profiles_yml_filepath=PROJECT_DIR / "profiles" / "profiles.yml",
    )


def execution_config() -> ExecutionConfig:
    """One `dbt build` per run (the producer task) with a sensor per model that reports its
    result: one dbt start-up per run instead of one per model (each costs seconds of import and
    parse), with per-model status and per-model retry (a failed model's sensor re-runs that
    model). For the backfill and batch DAGs, which run rarely; the minute runs dbt in one task
    (dags/accfb_refresh.py)."""
    from cosmos import ExecutionConfig
    from cosmos.constants import ExecutionMode, InvocationMode

    return ExecutionConfig(
        execution_mode=ExecutionMode.WATCHER, invocation_mode=InvocationMode.DBT_RUNNER
    )


# Sensors that reschedule rather than defer: no triggerer needed, and `dag.test()` runs them.
WATCHER_OPERATOR_ARGS: dict[str, Any] = {
    "deferrable": False,
    "mode": "reschedule",
    "poke_interval": 2,
}


def render_config(*select: str) -> RenderConfig:
    """The selected models, one sensor each. The producer's `dbt build` runs every model's tests
    too and fails on a failed test; separate test sensors would double the chain of sensors a
    run waits on (each a process start) for what the producer's log already names."""
    from cosmos import RenderConfig
    from cosmos.constants import LoadMode, TestBehavior

    return RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        select=list(select),
        test_behavior=TestBehavior.NONE,
    )


def one_writer(dag: Any, *writers: str) -> None:
    """Put the DAG's warehouse writers in the one-slot pool shared by every DAG: its dbt
    build (Cosmos's producer) and the named loading tasks. The sensors that report each model
    only read the producer's results, so they stay out and a refresh never queues behind its
    own sensors. A sensor that re-runs its failed model writes outside the pool: rare, and
    retried."""
    from cosmos.operators.watcher import DbtProducerWatcherOperator

    for task in dag.tasks:
        if isinstance(task, DbtProducerWatcherOperator) or task.task_id in writers:
            task.pool = WAREHOUSE_POOL


def _window(context: Any) -> str:
    start, end = context.get("data_interval_start"), context.get("data_interval_end")
    params = context.get("params") or {}
    if params.get("window_start"):
        return f"{params['window_start']} .. {params.get('window_end', '')}"
    return f"{start} .. {end}" if start else ""


class ContractsFailed(AirflowFailException):
    """Failed contracts fail the task at once: rerunning a check on the same data cannot pass,
    so retries are kept for errors that can pass on retry (a held warehouse, a network blip)."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        lines = [f"{f.contract}: {f.check} ({f.column}) {f.measured}" for f in report.failures]
        super().__init__("; ".join(lines + report.errors))


class ReconcileDiffers(AirflowFailException):
    """The warehouse does not hold what the archive holds for the window. Fails at once: the
    comparison is read-only, so rerunning it cannot pass; rerunning the backfill can."""

    def __init__(self, rows: list[ReconcileRow]) -> None:
        self.rows = rows
        super().__init__("; ".join(f"{row.check}: {_sides(row)}" for row in rows))


class ExportsRefused(AirflowFailException):
    """Batch exports the load refused. Fails at once: the same file fails the same way; a
    corrected export (under a new name, or over the refused one) loads. The task log has each
    full reason; the alert only where and what (see ``without_values``)."""

    def __init__(self, refused: dict[str, str]) -> None:
        self.refused = refused
        super().__init__("; ".join(f"{key}: {why}" for key, why in refused.items()))


def _counted(count: int, cents: int | None) -> str:
    return f"{count} records" + ("" if cents is None else f", {cents} cents")


def _sides(row: ReconcileRow) -> str:
    return (
        f"warehouse {_counted(row.warehouse_count, row.warehouse_cents)}, "
        f"archive {_counted(row.archive_count, row.archive_cents)}"
    )


def where(context: Any) -> dict[str, str]:
    """The DAG, task, run and window an alert names, from a task's Airflow context."""
    ti = context["task_instance"]
    return {
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "window": _window(context),
    }


# Scopes of the alert ledger (alerts.settle): a contract's check, whichever DAG verified it; a
# task, per DAG.
CONTRACT_CHECKS = "contract:"


def _task_checks(ti: Any) -> str:
    return f"task:{ti.dag_id}.{ti.task_id}"


def alert_on_failure(context: Any) -> None:
    """Airflow calls this once a task has failed for good (retries spent): one alert per broken
    check for failed contracts, one per differing line for a failed reconcile, else one for the
    failed task. A contract check or a task already failing does not alert again (alerts.settle);
    it says "recovered" once it passes."""
    ti = context["task_instance"]
    origin = where(context)
    exc = context.get("exception")
    if isinstance(exc, ContractsFailed):
        settle(
            settings(),
            CONTRACT_CHECKS,
            [
                Alert(
                    summary=f"{f.contract}: {f.check} failed on {f.column}",
                    runbook="data-quality-failures",
                    measured=f.measured,
                    threshold=f.threshold,
                    check=f"{CONTRACT_CHECKS}{f.contract}: {f.check} on {f.column}",
                    **origin,
                )
                for f in exc.report.failures
            ]
            + [
                Alert(
                    summary=f"contract could not be verified: {error}"[:300],
                    runbook="data-quality-failures",
                    measured="error",
                    threshold="verifies",
                    check=f"{CONTRACT_CHECKS}{error.split(':', 1)[0]}: verifies",
                    **origin,
                )
                for error in exc.report.errors
            ],
            **origin,
        )
        return
    if isinstance(exc, ExportsRefused):
        alerts = [
            Alert(
                summary=f"{key} was not loaded: {without_values(reason)}",
                runbook="batch-export-refused",
                measured="refused",
                threshold="loads",
                **origin,
            )
            for key, reason in exc.refused.items()
        ]
    elif isinstance(exc, ReconcileDiffers):
        alerts = [
            Alert(
                summary=f"{row.check}: the warehouse differs from the archive",
                runbook="data-quality-failures",
                measured=_counted(row.warehouse_count, row.warehouse_cents),
                threshold=f"= archive's {_counted(row.archive_count, row.archive_cents)}",
                **origin,
            )
            for row in exc.rows
        ]
    else:
        # The first line of the error: the rest (a traceback, a dbt log) is in the task log.
        first = one_line(str(exc).splitlines()[0]) if str(exc).strip() else ""
        failed = Alert(
            summary=f"task {ti.task_id} failed: {type(exc).__name__}: {first}"[:300],
            runbook="dag-failures",
            measured=f"failed after {ti.try_number} tries",
            threshold="succeeds",
            check=_task_checks(ti),
            **origin,
        )
        settle(settings(), _task_checks(ti), [failed], **origin)
        return
    # Each sent on its own: send_alert never raises, so one refused publish loses no other.
    for alert in alerts:
        send_alert(settings(), alert)


def recover_on_success(context: Any) -> None:
    """A task that succeeds after it had failed for good says so once ("recovered")."""
    settle(settings(), _task_checks(context["task_instance"]), [], **where(context))


def verify_contracts() -> int:
    """Every public mart's Soda contract, over whole tables (the data-quality DAG's schedule, not
    the minute's). Publishes the failure count (zero included, so the alarm sees checks running)
    and fails the task, with one alert per check that started failing."""
    from airflow.sdk import get_current_context

    from ingestion.operations import checks, metrics

    report = checks.run_checks(settings())
    metrics.publish(settings(), data_quality_failures=len(report.failures) + len(report.errors))
    if not report.ok:
        raise ContractsFailed(report)
    settle(settings(), CONTRACT_CHECKS, [], **where(get_current_context()))
    return report.checks


DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 3,
    "retry_delay": timedelta(seconds=15),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "on_failure_callback": alert_on_failure,
    "on_success_callback": recover_on_success,
}

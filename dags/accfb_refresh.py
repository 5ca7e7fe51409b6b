"""Minutely streaming refresh: land the stream, build the streaming models, publish freshness,
verify the contracts.

Scheduled every minute; a gate lets a run through at the cadence of the operating mode (Airflow
Variable ``accfb_operating_mode``): every minute in campaign and emergency mode, every 15 minutes
in normal mode, to spend warehouse time only when freshness matters (docs/orchestration.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import accfb_common as common
from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, Variable, get_current_context, task
from cosmos import DbtTaskGroup

# Minutes between refreshes per operating mode.
CADENCE_MINUTES = {"campaign": 1, "emergency": 1, "normal": 15}

common.dbt_environment()


def is_due(mode: str, logical_minute: int) -> bool:
    """A run is due when its minute falls on the mode's cadence; an unknown mode refreshes every
    minute, since running too often costs money and running too rarely costs freshness."""
    return logical_minute % CADENCE_MINUTES.get(mode, 1) == 0


def _due(data_interval_end: datetime | None = None) -> bool:
    mode = Variable.get("accfb_operating_mode", default="normal")
    minute = (data_interval_end or datetime.now(UTC)).minute
    return is_due(mode, minute)


with DAG(
    dag_id="accfb_refresh",
    description="Land the stream, build the streaming models, publish freshness, check",
    schedule="* * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=None,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "streaming", "refresh"],
    doc_md=__doc__,
) as dag:
    gate = ShortCircuitOperator(task_id="cadence_gate", python_callable=_due)

    @task
    def land() -> int:
        """Make everything Kinesis holds visible to dbt. Redshift: REFRESH MATERIALIZED VIEW,
        because auto refresh yields to user queries and may be deferred. Locally: drain the
        stream into the landing table. Both resume from what already landed: safe to retry."""
        from ingestion.config import aws, dbt
        from ingestion.landing.lander import StreamLander

        settings = common.settings()
        if settings.is_local:
            return StreamLander(settings, aws.client("kinesis", settings)).land_once()
        dbt.run_dbt(settings, ["run-operation", "refresh_stream_landing"])
        return 0

    transform = DbtTaskGroup(
        group_id="transform",
        project_config=common.project_config(),
        profile_config=common.profile_config(),
        execution_config=common.EXECUTION_CONFIG,
        render_config=common.render_config(common.STREAMING_SELECTOR),
        default_args=common.DEFAULT_ARGS,
        operator_args=common.WATCHER_OPERATOR_ARGS,
    )

    @task
    def publish_freshness(data_interval_start: datetime | None = None) -> dict[str, float]:
        """Freshness, lag and quarantine figures to CloudWatch; over-target figures alert too.
        Runs before the checks so a failed check never silences the freshness alarm."""
        from ingestion.config import warehouse
        from ingestion.operations import metrics
        from ingestion.operations.alerts import Alert, send_alert

        settings = common.settings()
        since = data_interval_start or datetime.now(UTC)
        with warehouse.connect(settings.warehouse_path) as con:
            figures = metrics.measure(con, since)
        metrics.publish(settings, figures)
        origin = common.where(get_current_context())
        for name, value in figures.over_target().items():
            send_alert(
                settings,
                Alert(
                    summary=f"{name} over the 2-minute target",
                    runbook="freshness-p95" if name == "FreshnessP95Seconds" else "landing-lag",
                    measured=f"{value:.1f} s",
                    threshold=f"<= {metrics.FRESHNESS_TARGET_SECONDS:.0f} s",
                    **origin,
                ),
            )
        return {"quarantined_events": figures.quarantined_events, **figures.over_target()}

    check_contracts = task(common.verify_contracts, task_id="check_contracts")

    @task
    def publish_serving_copy() -> None:
        """Locally: the marts' read-only serving copy, for live SQL and the dashboards while the
        pipeline holds the warehouse (ingestion/serving/). Redshift serves its marts itself."""
        from ingestion.serving import copy as serving

        settings = common.settings()
        if settings.is_local:
            serving.publish(settings)

    gate >> land() >> transform >> publish_freshness() >> check_contracts()
    transform >> publish_serving_copy()

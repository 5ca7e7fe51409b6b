"""Minutely streaming refresh: land the stream, build the streaming models, publish freshness
and the heartbeat, verify the contracts.

Every minute in every operating mode: the 2-minute freshness goal has no quiet-period exception,
so the modes change capacity (stream shards, warehouse base RPU), never the cadence
(docs/orchestration.md). The cost model prices the same interval
(``ingestion.config.constants.REFRESH_INTERVAL_SECONDS``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import accfb_common as common
from airflow.sdk import DAG, get_current_context, task
from cosmos import DbtTaskGroup

from ingestion.config.constants import REFRESH_INTERVAL_SECONDS

common.dbt_environment()


def cron_every(seconds: int) -> str:
    """The cron schedule of a whole-minute interval (Airflow's cron has minutes, not seconds)."""
    minutes, rest = divmod(seconds, 60)
    if rest or minutes < 1 or 60 % minutes:
        raise ValueError(f"a refresh interval of {seconds} s is not a whole divisor of an hour")
    return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"


with DAG(
    dag_id="accfb_refresh",
    description="Land the stream, build the streaming models, publish freshness, check",
    schedule=cron_every(REFRESH_INTERVAL_SECONDS),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=None,
    default_args=common.DEFAULT_ARGS,
    tags=["accfb", "streaming", "refresh"],
    doc_md=__doc__,
) as dag:

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
        """Freshness, lag, quarantine, conflicting-redelivery and archive-failure figures and
        the completed-refresh heartbeat to CloudWatch; over-target figures, a conflicting
        redelivery and a record the archive failed alert too. Runs before the checks so a failed
        check never silences the heartbeat."""
        from ingestion.operations import metrics
        from ingestion.operations.alerts import send_alert

        settings = common.settings()
        since = data_interval_start or datetime.now(UTC)
        figures = metrics.measure_in_warehouse(settings, since)
        archive_failed = metrics.archive_processing_failed(settings, since)
        # Reaching here means the stream landed and the models built: the heartbeat.
        metrics.publish(
            settings, figures, archive_processing_failed=archive_failed, refresh_completed=True
        )
        origin = common.where(get_current_context())
        for alert in metrics.refresh_alerts(figures, archive_failed, **origin):
            send_alert(settings, alert)
        return {
            "quarantined_events": figures.quarantined_events,
            "conflicting_redeliveries": figures.conflicting_redeliveries,
            "archive_processing_failed": archive_failed,
            **figures.over_target(),
        }

    check_contracts = task(common.verify_contracts, task_id="check_contracts")

    @task
    def publish_serving_copy() -> None:
        """Locally: the marts' read-only serving copy, for live SQL and the dashboards while the
        pipeline holds the warehouse (ingestion/serving/). Redshift serves its marts itself."""
        from ingestion.serving import copy as serving

        settings = common.settings()
        if settings.is_local:
            serving.publish(settings)

    land() >> transform >> publish_freshness() >> check_contracts()
    transform >> publish_serving_copy()
    common.one_writer(dag, "land", "publish_serving_copy")

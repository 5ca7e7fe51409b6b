"""The serving tests' warehouse: a demo corpus built for real (stream → lander → batch loads →
dbt) in two refreshes, each publishing the serving copy, with one alert in the local sink."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingestion.batch.loads import load_batches
from ingestion.config import aws, dbt
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import Simulator, steady
from ingestion.landing.lander import StreamLander
from ingestion.local import localaws
from ingestion.operations import node_results
from ingestion.operations.alerts import Alert, send_alert
from ingestion.produce.publish import publish_records
from ingestion.serving import copy as serving
from tests.marts.support import CORPUS_FAULTS, drop_crm_export, drop_settlement_export


def _refresh(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]
    StreamLander(settings, aws.client("kinesis", settings)).land_once()
    built = dbt.build_streaming_models(settings)
    node_results.record(settings, built.invocation_id, datetime.now(UTC), built.node_runs)
    serving.publish(settings)


def build_served(settings: Settings) -> None:
    """A few seconds of campaign traffic emitted three minutes ago (so freshness is minutes, as
    in a demo), refreshed twice, with the CRM and settlement exports loaded in between."""
    localaws.provision(settings)
    start = datetime.now(UTC) - timedelta(minutes=3)
    records = [
        r.data
        for r in Simulator(seed=16, start=start, faults=CORPUS_FAULTS).generate(
            steady("campaign", 3)
        )
    ]
    half = len(records) // 2
    _refresh(settings, records[:half])
    drop_crm_export(settings, records)
    drop_settlement_export(settings, records)
    load_batches(settings)
    send_alert(
        settings,
        Alert(
            summary="Soda contract failed: fct_donations",
            runbook="data-quality-check-failed",
            measured="3 rows",
            threshold="0 rows",
            dag_id="accfb_data_quality",
            task_id="check_fct_donations",
        ),
    )
    _refresh(settings, records[half:])

"""One demo corpus built for real (stream → lander → batch loads → dbt) in two refreshes, each
publishing the serving copy, shared by the serving tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from ingestion import aws, dbt, localaws
from ingestion.alerts import Alert, send_alert
from ingestion.batch_loads import load_batches
from ingestion.contract import partition_key
from ingestion.landing import StreamLander
from ingestion.publish import publish_records
from ingestion.serving import copy as serving
from ingestion.settings import Settings
from ingestion.simulator import Simulator, steady
from tests.marts.support import CORPUS_FAULTS, drop_crm_export, drop_settlement_export


@dataclass(frozen=True)
class Served:
    settings: Settings
    records: list[bytes]


def _refresh(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok, report.failed[:3]
    StreamLander(settings, aws.client("kinesis", settings)).land_once()
    dbt.build_streaming_models(settings)
    serving.publish(settings)


@pytest.fixture(scope="session")
def served(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Served:
    """A warehouse of a few seconds of campaign traffic ending now, refreshed twice, with the
    CRM and settlement exports loaded and one data-quality alert in the local sink."""
    root = tmp_path_factory.mktemp("served")
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        aws_endpoint_url=aws_endpoint,
        state_dir=root / "state",
        warehouse_path=root / "warehouse.duckdb",
        stream_name=f"serving-{suffix}",
        raw_bucket=f"serving-{suffix}",
        stream_shards=2,
    )
    localaws.provision(settings)
    # Emitted in the last minutes, so freshness per refresh is minutes, as in a demo.
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
    return Served(settings, records)

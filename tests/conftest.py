"""Shared fixtures: one real local AWS endpoint (moto's server) per test session.

Tests get their own stream, bucket and warehouse file, so they never see each other's records.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import Phase
from hypothesis import settings as hypothesis_settings

from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings
from ingestion.local import localaws

os.environ.update(TELEMETRY_OFF)
# The one required setting; the tests run the local default (tests/config test the others).
os.environ.setdefault("ACCFB_ENVIRONMENT", "local")

# The full-build state machine's profiles (tests/statemachine): `fast` is its default, in
# `make test`; `long` is the nightly run, `pytest -m statemachine --hypothesis-profile=long`.
# `fast` does not shrink: a failure prints its whole sequence, and shrinking one costs minutes.
hypothesis_settings.register_profile(
    "fast",
    max_examples=2,
    stateful_step_count=3,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
)
# `long`: 200 sequences of up to 6 steps, each step checked against a full build (~9 s a step
# here; 12 steps took a night). Every known defect of the change paths needs at most four steps.
hypothesis_settings.register_profile("long", max_examples=200, stateful_step_count=6)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def aws_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a moto server started for this session on a free loopback port."""
    state = tmp_path_factory.mktemp("endpoint")
    settings = Settings(aws_endpoint_url=f"http://127.0.0.1:{free_port()}", state_dir=state)
    localaws.start_endpoint(settings)
    yield settings.aws_endpoint_url or ""
    localaws.stop_endpoint(settings)


@pytest.fixture
def settings(aws_endpoint: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own stream, bucket and warehouse on the session endpoint."""
    suffix = uuid.uuid4().hex[:10]
    return Settings(
        aws_endpoint_url=aws_endpoint,
        state_dir=tmp_path / "state",
        warehouse_path=tmp_path / "warehouse.duckdb",
        stream_name=f"test-{suffix}",
        raw_bucket=f"test-{suffix}",
        stream_shards=2,
        poll_interval_seconds=0.2,
    )


@pytest.fixture
def provisioned(settings: Settings) -> Settings:
    localaws.provision(settings)
    return settings


# Suites that run dbt, Airflow or the CDK whatever fixtures their tests ask for.
_PIPELINE_SUITES = ("dags", "marts", "warehouse", "test_end_to_end.py", "test_hostile_corpus.py")
_INFRA_SUITES = ("infra",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by what it needs, so `pytest -m "not pipeline and not infra"` runs the fast
    unit tests alone: ``pipeline`` for the real local parts (the endpoint, the DuckDB warehouse
    through dbt, Airflow), ``infra`` for synthesising the CDK app (Node)."""
    tests_root = Path(__file__).resolve().parent
    # The state machine's nightly profile runs for hours: no per-test timeout then.
    nightly = config.getoption("hypothesis_profile", None) == "long"
    for item in items:
        if nightly and item.get_closest_marker("statemachine"):
            item.add_marker(pytest.mark.timeout(0))
        suite = item.path.relative_to(tests_root).parts[0]
        if suite in _INFRA_SUITES:
            item.add_marker(pytest.mark.infra)
        elif suite in _PIPELINE_SUITES or "aws_endpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.pipeline)

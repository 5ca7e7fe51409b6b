"""The serving tests share one built warehouse and its serving copy.

It is built in a child process, as the pipeline runs in its own: dbt in-process keeps the
warehouse file open for the life of the process, and the tests need it free to show who can
open what.
"""

from __future__ import annotations

import multiprocessing
import shutil
import uuid
from pathlib import Path

import pytest

from ingestion.config.settings import Settings
from tests.serving.support import build_served


@pytest.fixture(scope="session")
def served(aws_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
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
    builder = multiprocessing.get_context("spawn").Process(target=build_served, args=(settings,))
    builder.start()
    builder.join()
    assert builder.exitcode == 0
    return settings


@pytest.fixture
def own_copy(served: Settings, tmp_path: Path) -> Settings:
    """The served warehouse and state dir copied, so a test may change them."""
    state = tmp_path / "state"
    shutil.copytree(served.state_dir, state, symlinks=True)
    warehouse_path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(served.warehouse_path, warehouse_path)
    return served.model_copy(update={"state_dir": state, "warehouse_path": warehouse_path})

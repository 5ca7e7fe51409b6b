"""A stream in AWS is never copied into DuckDB on a laptop, and every local file follows the
state dir (two state dirs, two runs side by side)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.config.settings import Settings
from tests.cli.support import accfb, clean_env, deployed_env, local_env
from tests.support import corpus, publish


@pytest.mark.parametrize("command", ["ingest", "refresh"])
def test_a_deployed_stream_is_not_landed_on_this_machine(command: str, tmp_path: Path) -> None:
    result = accfb(
        command, *(["--once"] if command == "ingest" else []), env=deployed_env(tmp_path)
    )

    assert result.returncode == 2
    first, hint = result.stderr.strip().splitlines()
    assert first == (
        f"accfb: error: accfb {command} lands the stream into DuckDB on this machine, and "
        "ACCFB_AWS_ENDPOINT_URL is unset: accfb-events is AWS's stream, with donors' personal "
        "data. Refused."
    )
    assert hint.startswith("hint: in AWS the accfb_refresh DAG lands and builds every minute")
    assert not (tmp_path / "state" / "warehouse.duckdb").exists()


def test_a_local_environment_without_an_endpoint_is_refused_too(tmp_path: Path) -> None:
    result = accfb(
        "ingest", "--once", env=clean_env(ACCFB_ENVIRONMENT="local", ACCFB_STATE_DIR=str(tmp_path))
    )

    assert result.returncode == 2
    assert "Refused." in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_state_dir_holds_the_warehouse_the_command_lands_into(provisioned: Settings) -> None:
    publish(provisioned, corpus(seed=5, seconds=0.2)[:25])
    env = local_env(provisioned)
    del env["ACCFB_WAREHOUSE_PATH"]

    result = accfb("ingest", "--once", env=env)

    assert result.returncode == 0, result.stderr
    assert "landed 25 records" in result.stdout
    assert (provisioned.state_dir / "warehouse.duckdb").exists()
    assert not provisioned.warehouse_path.exists()

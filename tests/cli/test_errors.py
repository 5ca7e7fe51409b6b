"""Each kind of failure, from the real `accfb` script: one or two lines saying what is wrong and
what to do, exit 2 for usage or configuration and 1 at run time, the trace only at DEBUG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingestion.cli import errors
from ingestion.config import aws
from ingestion.config.settings import Settings
from tests.cli.support import accfb, clean_env, deployed_env, local_env
from tests.support import corpus, land, publish


def _lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return result.stderr.strip().splitlines()


def test_no_environment_is_a_configuration_error_in_two_lines() -> None:
    result = accfb("up", env=clean_env())

    assert result.returncode == 2
    assert _lines(result) == [
        "accfb: error: settings: ACCFB_ENVIRONMENT is not set",
        "hint: ACCFB_ENVIRONMENT=local runs the laptop default; the README's Settings table "
        "lists every variable",
    ]
    assert "Traceback" not in result.stderr + result.stdout


def test_a_deployment_without_its_alert_topic_names_the_variable(tmp_path: Path) -> None:
    env = deployed_env(tmp_path)
    del env["ACCFB_ALERT_TOPIC_ARN"]

    result = accfb("up", env=env)

    assert result.returncode == 2
    assert len(_lines(result)) == 2
    assert "ACCFB_ALERT_TOPIC_ARN is unset" in _lines(result)[0]


def test_the_trace_is_there_at_debug_only() -> None:
    result = accfb("up", env=clean_env(ACCFB_LOG_LEVEL="DEBUG"))

    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert "pydantic_core._pydantic_core.ValidationError" in result.stderr
    assert result.stderr.rstrip().endswith("lists every variable")


def test_a_usage_error_exits_2() -> None:
    result = accfb("reconcile", env=clean_env(ACCFB_ENVIRONMENT="local"))

    assert result.returncode == 2
    assert "Missing option '--start'" in result.stderr


def test_a_sql_typo_shows_as_psql_shows_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    duckdb.connect(str(state / "serving.duckdb")).close()

    result = accfb(
        "sql", "selec 1", env=clean_env(ACCFB_ENVIRONMENT="local", ACCFB_STATE_DIR=str(state))
    )

    assert result.returncode == 1
    assert _lines(result) == [
        'ERROR:  syntax error at or near "selec"',
        "LINE 1: selec 1",
        "        ^",
    ]


def test_a_dbt_failure_is_its_message_and_where_the_log_is(tmp_path: Path) -> None:
    result = accfb(
        "docs",
        "--no-serve",
        env=clean_env(
            ACCFB_ENVIRONMENT="local", ACCFB_STATE_DIR=str(tmp_path), ACCFB_DBT_TARGET="nowhere"
        ),
    )

    assert result.returncode == 1
    first, hint = _lines(result)
    assert first.startswith("accfb: error: dbt docs generate failed:")
    assert "nowhere" in first
    assert hint == "hint: dbt's own log is dbt.log under ACCFB_STATE_DIR/dbt/logs"


def test_a_held_warehouse_says_who_holds_it_and_what_to_do(tmp_path: Path) -> None:
    # Explained directly: a command waits two minutes for its turn before it gives up (see
    # ingestion/config/warehouse.py), the error is DuckDB's own, from a real second process.
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; con = duckdb.connect({str(path)!r}); print('held', flush=True);"
            " sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(duckdb.IOException) as held:
            duckdb.connect(str(path))
    finally:
        holder.communicate("")

    explained = errors.explain(held.value)

    assert explained.code == 1
    assert explained.message == (
        f"the warehouse file is held by another process (PID {holder.pid}) (a demo, "
        "`accfb ingest`, Airflow or a DuckDB session)"
    )
    assert explained.hint == "wait for it or stop it; `accfb sql` reads the serving copy meanwhile"


def test_an_endpoint_that_cannot_be_started_here_is_one_line_and_a_hint(tmp_path: Path) -> None:
    # 127.0.0.2 is loopback, where nothing listens, but not an address `accfb up` starts on.
    result = accfb(
        "up",
        env=clean_env(
            ACCFB_ENVIRONMENT="local",
            ACCFB_STATE_DIR=str(tmp_path),
            ACCFB_AWS_ENDPOINT_URL="http://127.0.0.2:4599",
        ),
    )

    assert result.returncode == 1
    assert _lines(result) == [
        "accfb: error: local endpoint: nothing answers at http://127.0.0.2:4599, and only a "
        "loopback endpoint is started here",
        "hint: `accfb up` starts it; `accfb down` stops it",
    ]


def test_a_recreated_stream_is_refused_in_the_landers_words(provisioned: Settings) -> None:
    publish(provisioned, corpus(seed=3, seconds=0.2)[:20])
    land(provisioned)
    kinesis = aws.client("kinesis", provisioned)
    kinesis.delete_stream(StreamName=provisioned.stream_name, EnforceConsumerDeletion=True)
    kinesis.create_stream(StreamName=provisioned.stream_name, ShardCount=1)

    result = accfb("ingest", "--once", env=local_env(provisioned))

    assert result.returncode == 1
    (line,) = _lines(result)
    assert line.startswith("accfb: error: the warehouse holds positions of stream")
    assert "the stream was recreated" in line

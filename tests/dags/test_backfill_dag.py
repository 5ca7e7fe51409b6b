"""The backfill DAG run for real with ``dag.test()``: a window refused with a reason before
anything runs; an archived window loaded, built, checked and reconciled, and rerun unchanged; a
difference between archive and warehouse failing the reconcile with an alert."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.config.settings import Settings
from ingestion.demo.report import read_donations
from ingestion.demo.simulator.truth import expected_outcome
from ingestion.local import localaws
from ingestion.operations.alerts import read_alerts
from ingestion.replay.window import WindowRefused, parse_window
from tests.cli.support import deployed_env
from tests.dags.dagbag import load_dag
from tests.support import archive, corpus, land, marts, publish, query

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        ("yesterday", "2026-11-24T00:00:00Z", "is not an ISO 8601 time"),
        ("", "2026-11-24T00:00:00Z", "window_start is required"),
        ("2026-11-23T00:00:00", "2026-11-24T00:00:00Z", "has no time zone"),
        ("2026-11-24T00:00:00Z", "2026-11-23T00:00:00Z", "the bounds look reversed"),
        ("2026-11-24T00:00:00Z", "2026-11-24T00:00:00Z", "the bounds look reversed"),
        ("2025-11-24T00:00:00Z", "2026-11-24T00:00:00Z", "split it into several runs"),
        ("2026-11-24T16:00:00Z", "2026-11-24T18:00:00Z", "is in the future"),
    ],
)
def test_a_bad_window_is_refused_with_its_reason(start: str, end: str, reason: str) -> None:
    with pytest.raises(WindowRefused, match=reason):
        parse_window(start, end, now=NOW)


def test_a_good_window_is_utc_and_half_open() -> None:
    window = parse_window("2026-11-24T08:00:00-08:00", "2026-11-24T17:00:00Z", now=NOW)
    assert (window.start, window.end) == (NOW - timedelta(hours=1), NOW)


def test_a_reversed_window_fails_the_backfill_before_loading_anything(dag_env: Settings) -> None:
    dag = load_dag("accfb_backfill")

    run = dag.test(
        run_conf={"window_start": "2026-11-20T18:00:00Z", "window_end": "2026-11-20T17:00:00Z"}
    )

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["validate_window"] == "failed"
    assert {state for task_id, state in states.items() if task_id != "validate_window"} == {
        "upstream_failed"
    }
    assert not dag_env.warehouse_path.exists()
    (alert,) = read_alerts(dag_env)
    assert "the bounds look reversed" in alert["summary"]
    assert alert["window"] == "2026-11-20T18:00:00Z .. 2026-11-20T17:00:00Z"
    assert alert["runbook_url"] == "docs/runbooks.md#dag-failures"


def _gifts(records: list[bytes]) -> int:
    """donation.completed records, counted as reconcile counts them (JSON with that type)."""
    count = 0
    for record in records:
        try:
            parsed = json.loads(record)
        except ValueError:
            continue
        count += isinstance(parsed, dict) and parsed.get("event_type") == "donation.completed"
    return count


def _window_until_now(minutes: int = 30) -> dict[str, str]:
    """A window that ends now: everything published and archived so far arrived inside it."""
    end = datetime.now(UTC)
    return {
        "window_start": (end - timedelta(minutes=minutes)).isoformat(),
        "window_end": end.isoformat(),
    }


def test_a_backfill_of_an_archived_window_loads_builds_checks_reconciles_and_reruns_unchanged(
    dag_env: Settings,
) -> None:
    localaws.provision(dag_env)
    records = corpus(seed=61)
    publish(dag_env, records)
    # The archive has the window; the streaming landing never ran (the outage a backfill is for).
    assert archive(dag_env) == len(records)
    conf = _window_until_now()

    first = load_dag("accfb_backfill").test(run_conf=conf)

    assert first.state == "success"
    states = {ti.task_id: ti.state for ti in first.get_task_instances()}
    assert {"load_window", "transform.dbt_producer_watcher", "check_contracts"} < states.keys()
    assert set(states.values()) == {"success"}, states
    assert query(dag_env, "select count(*) from lander.backfill_records") == [(len(records),)]
    assert query(dag_env, "select count(*) from lander.kinesis_records") == [(0,)]
    assert read_donations(dag_env.warehouse_path) == expected_outcome(records).donation_amounts()
    (reconciled,) = [ti for ti in first.get_task_instances() if ti.task_id == "reconcile"]
    assert reconciled.state == "success"
    assert reconciled.xcom_pull(task_ids="reconcile") > 1  # event types and the gifts line
    settled = marts(dag_env)

    second = load_dag("accfb_backfill").test(run_conf=conf)

    assert second.state == "success"
    assert {ti.state for ti in second.get_task_instances()} == {"success"}
    assert marts(dag_env) == settled
    assert query(dag_env, "select count(*) from lander.backfill_records") == [(len(records),)]
    assert read_alerts(dag_env) == []


def test_records_the_archive_lacks_fail_the_reconcile_and_alert_per_differing_line(
    dag_env: Settings,
) -> None:
    localaws.provision(dag_env)
    archived = corpus(seed=62)
    publish(dag_env, archived)
    archive(dag_env)
    land(dag_env)
    # Landed from the stream, never archived: the archive lost them (a failed delivery).
    unarchived = corpus(seed=63, seconds=1)
    publish(dag_env, unarchived)
    land(dag_env)
    conf = _window_until_now()

    run = load_dag("accfb_backfill").test(run_conf=conf)

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states.pop("reconcile") == "failed"
    assert set(states.values()) == {"success"}, states
    alerts = read_alerts(dag_env)
    assert alerts, "a failed reconcile must alert"
    completed = next(a for a in alerts if a["summary"].startswith("donation.completed:"))
    assert completed["task_id"] == "reconcile" and completed["run_id"] == run.run_id
    assert completed["window"] == f"{conf['window_start']} .. {conf['window_end']}"
    assert completed["runbook_url"] == "docs/runbooks.md#data-quality-failures"
    in_archive = _gifts(archived)
    in_landing = in_archive + _gifts(unarchived)
    assert completed["measured"].startswith(f"{in_landing} records, ")
    assert completed["threshold"].startswith(f"= archive's {in_archive} records, ")


def test_the_backfill_dags_reconcile_runs_on_redshift_and_fails_rather_than_skips(
    airflow_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    step = load_dag("accfb_backfill").get_task("reconcile")
    for name in [n for n in os.environ if n.startswith(("ACCFB_", "AWS_"))]:
        monkeypatch.delenv(name)
    for name, value in deployed_env(tmp_path).items():
        monkeypatch.setenv(name, value)

    with pytest.raises(Exception) as failed:
        step.python_callable(
            window={"start": "2026-11-20T17:00:00+00:00", "end": "2026-11-20T18:00:00+00:00"},
            params={},
        )

    assert not isinstance(failed.value, AirflowSkipException)
    assert "credentials" in str(failed.value).lower()

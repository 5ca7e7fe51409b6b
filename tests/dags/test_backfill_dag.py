"""A backfill window is refused with a reason before anything runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingestion.alerts import read_alerts
from ingestion.backfill_window import WindowRefused, parse_window
from ingestion.settings import Settings
from tests.dags.dagbag import load_dag

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

"""Alerts fit SNS's documented limits, fall back to the local sink when SNS refuses one, and
carry no value from the data."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import duckdb
import pytest

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.operations.alerts import (
    Alert,
    read_alerts,
    send_alert,
    settle,
    sns_message,
    sns_subject,
    without_values,
)

# A multi-line error, as a failed task's exception carries it.
TRACEBACK = "dbt build failed:\n" + "\n".join(
    f"  model.accfb.fct_donations line {n}: Serializable isolation violation" for n in range(40)
)


def assert_within_sns_limits(subject: str, message: str) -> None:
    """SNS Publish: a subject is UTF-8 text with no line breaks or control characters, and
    less than 100 characters long; a message is at most 262,144 bytes of UTF-8."""
    assert len(subject) < 100
    assert not re.search(r"[\x00-\x1f\x7f]", subject)
    assert len(message.encode("utf-8")) <= 262_144


def _alert(summary: str) -> Alert:
    return Alert(
        summary=summary,
        runbook="dag-failures",
        measured="failed after 4 tries",
        threshold="succeeds",
        dag_id="accfb_refresh",
        task_id="transform.dbt_producer_watcher",
        run_id="scheduled__2026-12-01T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    "summary",
    [TRACEBACK, "x" * 100, "tab\tand\rreturn", "é" * 200, "a" * 400_000],
    ids=["traceback", "100-chars", "control", "non-ascii", "oversized"],
)
def test_subject_and_message_are_within_sns_limits(summary: str) -> None:
    alert = _alert(summary)
    assert_within_sns_limits(sns_subject(alert), sns_message(alert))
    body = json.loads(sns_message(alert))
    assert body["runbook_url"] == "docs/runbooks.md#dag-failures"
    assert body["task_id"] == alert.task_id


def _topic_with_queue(settings: Settings) -> tuple[str, str]:
    sns, sqs = aws.client("sns", settings), aws.client("sqs", settings)
    topic = sns.create_topic(Name=f"alerts-{settings.stream_name}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alerts-{settings.stream_name}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    return topic, queue


def test_a_multi_line_failure_reaches_the_topic(settings: Settings) -> None:
    topic, queue = _topic_with_queue(settings)
    deployed = settings.model_copy(update={"alert_topic_arn": topic})

    assert send_alert(deployed, _alert(f"task transform failed: {TRACEBACK}")) == "sns"

    (received,) = aws.client("sqs", settings).receive_message(QueueUrl=queue)["Messages"]
    envelope = json.loads(received["Body"])
    assert_within_sns_limits(envelope["Subject"], envelope["Message"])
    assert envelope["Subject"].startswith("[accfb] task transform failed: dbt build failed:")
    assert json.loads(envelope["Message"])["dag_id"] == "accfb_refresh"
    assert read_alerts(settings) == []


def test_an_alert_sns_refuses_is_logged_and_kept_and_the_next_still_goes(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    topic, _ = _topic_with_queue(settings)
    gone = settings.model_copy(update={"alert_topic_arn": topic + "-deleted"})

    with caplog.at_level(logging.ERROR):
        first = send_alert(gone, _alert("first"))
        second = send_alert(gone, _alert("second"))

    assert first == second == str(settings.state_dir / "alerts.jsonl")
    assert [alert["summary"] for alert in read_alerts(settings)] == ["first", "second"]
    assert "alert not published" in caplog.text


def _real_refusal(tmp_path: Path, cell: str) -> str:
    """The error DuckDB gives for an export with a cell that does not cast."""
    export = tmp_path / "crm.csv"
    export.write_text(f"donor_id,amount_cents\nd-1,100\nd-2,{cell}\n")
    with pytest.raises(duckdb.Error) as refused:
        duckdb.sql(
            f"select * from read_csv('{export}', header = true, "
            "columns = {'donor_id': 'VARCHAR', 'amount_cents': 'BIGINT'})"
        ).fetchall()
    return str(refused.value)


def test_a_refused_exports_alert_names_line_and_column_never_the_value(tmp_path: Path) -> None:
    cell = "Jane Doe <jane.doe@example.org>"
    reason = _real_refusal(tmp_path, cell)
    assert cell in reason  # what the warehouse says, and the task log keeps

    safe = without_values(reason)

    assert safe == "a value does not cast to BIGINT at line 3, column amount_cents"
    assert "jane" not in safe.lower()


def test_a_header_reason_keeps_no_names() -> None:
    reason = "landing/crm/x.csv was not loaded: its header is [jane@example.org, Jane, Doe]"
    assert "jane" not in without_values(reason).lower()
    assert without_values("something else broke: 'jane@example.org'") == (
        "refused (the reason is in the task log)"
    )


def test_a_check_alerts_once_while_failing_and_once_when_it_recovers(settings: Settings) -> None:
    failing = Alert(
        summary="FreshnessP95Seconds over the 2-minute target",
        runbook="freshness-p95",
        measured="150.0 s",
        threshold="<= 120 s",
        check="refresh:FreshnessP95Seconds",
    )
    other = Alert(
        summary="LandingLagSeconds over the 2-minute target",
        runbook="landing-lag",
        measured="130.0 s",
        threshold="<= 120 s",
        check="refresh:LandingLagSeconds",
    )

    minutes = [
        settle(settings, "refresh:", [failing]),
        settle(settings, "refresh:", [failing, other]),  # only the new one
        settle(settings, "refresh:", [failing, other]),  # nothing new
        settle(settings, "refresh:", [other]),  # freshness recovered
        settle(settings, "refresh:", []),  # lag recovered
        settle(settings, "refresh:", []),  # quiet
    ]

    assert [[a.summary for a in sent] for sent in minutes] == [
        ["FreshnessP95Seconds over the 2-minute target"],
        ["LandingLagSeconds over the 2-minute target"],
        [],
        ["recovered: FreshnessP95Seconds"],
        ["recovered: LandingLagSeconds"],
        [],
    ]
    assert [a["summary"] for a in read_alerts(settings)] == [
        a.summary for sent in minutes for a in sent
    ]
    recovered = minutes[3][0]
    assert recovered.runbook == "freshness-p95" and recovered.measured == "passes"


def test_settling_one_scope_leaves_another_scopes_failing_checks_alone(settings: Settings) -> None:
    contract = Alert(
        summary="fct_donations: No duplicate values failed on donation_id",
        runbook="data-quality-failures",
        measured="duplicate_count: 1",
        threshold="= 0",
        check="contract:fct_donations: duplicate on donation_id",
    )
    assert len(settle(settings, "contract:", [contract])) == 1
    assert settle(settings, "refresh:", []) == []
    # Still failing: not sent again, and not recovered by the other scope.
    assert settle(settings, "contract:", [contract]) == []
    (recovered,) = settle(settings, "contract:", [])
    assert recovered.summary == "recovered: fct_donations: duplicate on donation_id"

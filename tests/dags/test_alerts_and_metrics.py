"""The alert sink and the freshness figures, on the local endpoint and a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingestion.config import aws, warehouse
from ingestion.config.settings import Settings
from ingestion.landing.lander import ensure_landing_table
from ingestion.operations import metrics
from ingestion.operations.alerts import Alert, read_alerts, send_alert


def test_a_local_alert_names_its_origin_measure_threshold_and_runbook(settings: Settings) -> None:
    send_alert(
        settings,
        Alert(
            summary="FreshnessP95Seconds over the 2-minute target",
            runbook="freshness-p95",
            measured="181.0 s",
            threshold="<= 120 s",
            dag_id="accfb_refresh",
            task_id="publish_freshness",
            run_id="scheduled__2026-11-24T17:00:00+00:00",
            window="2026-11-24 17:00 .. 17:01",
        ),
    )
    (alert,) = read_alerts(settings)
    assert alert["runbook_url"] == "docs/runbooks.md#freshness-p95"
    assert (alert["measured"], alert["threshold"]) == ("181.0 s", "<= 120 s")
    assert alert["dag_id"] == "accfb_refresh" and alert["window"]


def test_an_alert_goes_to_sns_when_a_topic_is_set(provisioned: Settings) -> None:
    sns = aws.client("sns", provisioned)
    topic = sns.create_topic(Name=f"{provisioned.stream_name}-alerts")["TopicArn"]
    with_topic = provisioned.model_copy(update={"alert_topic_arn": topic})

    send_alert(with_topic, Alert(summary="s", runbook="dag-failures", measured="m", threshold="t"))

    assert read_alerts(with_topic) == []  # not the local file


def _mart_with_gifts(settings: Settings, delays_seconds: list[int], loaded: datetime) -> None:
    with warehouse.connect(settings.warehouse_path) as con:
        ensure_landing_table(con)
        con.execute("create schema marts; create schema ops")
        con.execute(
            "create table marts.fct_donations (emitted_at timestamp, first_loaded_at timestamp)"
        )
        con.execute("create table ops.quarantined_events (quarantined_at timestamp)")
        con.execute("create table ops.conflicting_redeliveries (landed_at timestamptz)")
        naive = loaded.replace(tzinfo=None)
        for delay in delays_seconds:
            con.execute(
                "insert into marts.fct_donations values (?, ?)",
                [naive - timedelta(seconds=delay), naive],
            )
        con.execute("insert into ops.quarantined_events values (?)", [naive])


def test_freshness_is_the_p95_of_gifts_loaded_in_the_run_and_over_target_is_flagged(
    settings: Settings,
) -> None:
    since = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    _mart_with_gifts(settings, [30] * 5 + [300] * 15, since + timedelta(seconds=30))
    with warehouse.connect(settings.warehouse_path) as con:
        figures = metrics.measure(con, since)
        later = metrics.measure(con, since + timedelta(minutes=5))
    assert figures.freshness_p95_seconds == 300
    assert figures.quarantined_events == 1
    assert "FreshnessP95Seconds" in figures.over_target()
    assert later.freshness_p95_seconds is None and later.quarantined_events == 0


def test_figures_reach_cloudwatch_under_the_alarms_names_and_nothing_measured_is_left_out(
    provisioned: Settings,
) -> None:
    figures = metrics.RefreshFigures(
        freshness_p95_seconds=None, landing_lag_seconds=3.5, quarantined_events=2
    )
    sent = metrics.publish(provisioned, figures, data_quality_failures=0)
    assert {d["MetricName"] for d in sent} == {
        "LandingLagSeconds",
        "QuarantinedEvents",
        "ConflictingRedeliveries",
        "DataQualityFailures",
    }
    listed = aws.client("cloudwatch", provisioned).list_metrics(Namespace="ACCFB/Pipeline")
    assert {"Name": "Environment", "Value": "local"} in listed["Metrics"][0]["Dimensions"]


def test_a_quiet_minute_still_sends_the_refresh_heartbeat_and_no_freshness(
    provisioned: Settings,
) -> None:
    quiet = metrics.RefreshFigures(
        freshness_p95_seconds=None, landing_lag_seconds=None, quarantined_events=0
    )
    sent = metrics.publish(provisioned, quiet, refresh_completed=True)
    assert {d["MetricName"]: d["Value"] for d in sent} == {
        "RefreshCompleted": 1,
        "QuarantinedEvents": 0,
        "ConflictingRedeliveries": 0,
    }
    assert {d["Unit"] for d in sent} == {"Count"}
    listed = aws.client("cloudwatch", provisioned).list_metrics(
        Namespace="ACCFB/Pipeline", MetricName="RefreshCompleted"
    )
    assert listed["Metrics"], "the heartbeat reached CloudWatch"


def test_conflicting_redeliveries_landed_in_the_run_are_counted_alerted_and_published(
    provisioned: Settings,
) -> None:
    since = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    _mart_with_gifts(provisioned, [30], since + timedelta(seconds=30))
    with warehouse.connect(provisioned.warehouse_path) as con:
        con.execute(
            "insert into ops.conflicting_redeliveries values (?), (?)",
            [since + timedelta(seconds=20), since - timedelta(minutes=3)],
        )
        figures = metrics.measure(con, since)
    assert figures.conflicting_redeliveries == 1  # the earlier one was counted by its own run

    alerts = metrics.refresh_alerts(figures, 0, dag_id="accfb_refresh")
    (alert,) = [a for a in alerts if a.runbook == "conflicting-redeliveries"]
    assert alert.measured.startswith("1 ") and alert.dag_id == "accfb_refresh"
    sent = metrics.publish(provisioned, figures)
    assert {d["MetricName"]: d["Value"] for d in sent}["ConflictingRedeliveries"] == 1
    quiet = metrics.RefreshFigures(None, None, 0)
    assert metrics.refresh_alerts(quiet, 0) == []


def test_records_the_archive_failed_since_the_run_started_are_counted_alerted_and_published(
    provisioned: Settings,
) -> None:
    from tests.support import write_processing_failed

    before = datetime.now(UTC) - timedelta(seconds=5)
    write_processing_failed(provisioned, [b'{"a": 1}', b"{"], datetime.now(UTC))

    failed = metrics.archive_processing_failed(provisioned, before)
    assert failed == 2
    assert (
        metrics.archive_processing_failed(provisioned, datetime.now(UTC) + timedelta(minutes=1))
        == 0
    )
    quiet = metrics.RefreshFigures(None, None, 0)
    (alert,) = metrics.refresh_alerts(quiet, failed)
    assert alert.runbook == "archive-processing-failed" and alert.measured == "2 record(s)"
    sent = metrics.publish(provisioned, archive_processing_failed=failed)
    assert [(d["MetricName"], d["Value"]) for d in sent] == [("ArchiveProcessingFailed", 2)]

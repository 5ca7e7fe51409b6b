"""The refresh and data-quality DAGs run for real with ``dag.test()``: the local endpoint's
stream, the lander, dbt in the refresh's one task (through Cosmos in the data-quality DAG's
siblings), Soda, and CloudWatch on the endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb

from ingestion.config import aws, warehouse
from ingestion.config.constants import FRESHNESS_TARGET_SECONDS
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import Simulator, steady
from ingestion.demo.simulator.truth import expected_outcome
from ingestion.operations.alerts import read_alerts
from ingestion.produce.publish import publish_records
from ingestion.serving.copy import serving_path
from tests.dags.dagbag import load_dag


def _publish(settings: Settings, seconds: float, seed: int) -> list[bytes]:
    start = datetime.now(UTC) - timedelta(seconds=seconds + 5)
    records = [
        r.data for r in Simulator(seed=seed, start=start).generate(steady("normal", seconds))
    ]
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    assert report.ok
    return records


def _donations(settings: Settings) -> dict[str, int]:
    with warehouse.connect(settings.warehouse_path) as con:
        rows = con.execute(
            "select donation_id, net_amount_cents from marts.fct_donations"
        ).fetchall()
    return dict(rows)


def test_refresh_runs_land_build_publish_and_measure_in_one_task_run_after_run(
    dag_env: Settings,
) -> None:
    localaws_provision(dag_env)
    first = _publish(dag_env, seconds=2, seed=11)
    assert load_dag("accfb_refresh").test().state == "success"
    # The second run is the steady state: incremental models, seeds reloaded from a new copy
    # of the project (a cached partial parse once pointed them at the first run's copy).
    second = _publish(dag_env, seconds=2, seed=21)

    run = load_dag("accfb_refresh").test()

    assert run.state == "success"
    # One task instance per run: the minute's orchestration is one process start.
    assert [ti.task_id for ti in run.get_task_instances()] == ["refresh"]
    expected = expected_outcome(first + second)
    assert _donations(dag_env) == {
        d.donation_id: d.net_amount_cents for d in expected.donations.values()
    }
    listed = aws.client("cloudwatch", dag_env).list_metrics(Namespace="ACCFB/Pipeline")
    published = {
        m["MetricName"]
        for m in listed["Metrics"]
        if m["Dimensions"] == [{"Name": "Environment", "Value": "local"}]
    }
    assert {
        "FreshnessP95Seconds",
        "LandingLagSeconds",
        "QuarantinedEvents",
        "DataQualityFailures",
    } <= published
    # What the dashboards read holds the second run's gifts, and its refresh is stamped with
    # when they became visible there: source to dashboard.
    with duckdb.connect(str(serving_path(dag_env)), read_only=True) as served:
        served_gifts = dict(
            served.execute(
                "select donation_id, net_amount_cents from marts.fct_donations"
            ).fetchall()
        )
        stamped = served.execute(
            """
            select published_at, dashboard_freshness_p95_seconds, freshness_p95_seconds
            from ops.pipeline_freshness order by refreshed_at desc limit 1
            """
        ).fetchone()
        # Each refresh's per-node results, for the operations page: both runs', by invocation.
        nodes = served.execute(
            """
            select invocation_id, node_name, resource_type, status, execution_seconds
            from ops.dbt_node_results
            """
        ).fetchall()
        latest_refresh = served.execute(
            "select invocation_id from ops.pipeline_freshness order by refreshed_at desc limit 1"
        ).fetchone()
        over_target = served.execute(
            "select count(*) from ops.pipeline_freshness where dashboard_freshness_p95_seconds > ?",
            [FRESHNESS_TARGET_SECONDS],
        ).fetchone()
    # A healthy pipeline pages nothing. Only the freshness alarm depends on the machine's speed
    # (a loaded machine can take two minutes to land, build and publish): it fires exactly when
    # a refresh measured itself over the target.
    summaries = [a["summary"] for a in read_alerts(dag_env) if "recovered" not in a["summary"]]
    assert summaries == (
        ["FreshnessP95Seconds over the 2-minute target"] if over_target and over_target[0] else []
    )
    assert served_gifts == _donations(dag_env)
    assert len({invocation for invocation, *_ in nodes}) == 2
    assert latest_refresh is not None
    latest = {
        name: (kind, status)
        for invocation, name, kind, status, _ in nodes
        if invocation == latest_refresh[0]
    }
    assert latest["fct_donations"] == ("model", "success")
    assert {kind for kind, _ in latest.values()} >= {"model", "test"}
    assert all(seconds >= 0 for *_, seconds in nodes)
    assert stamped is not None and stamped[0] is not None
    # Visible after it was built: source to dashboard is at least source to mart.
    assert stamped[1] >= stamped[2] > 0


def localaws_provision(settings: Settings) -> None:
    from ingestion.local import localaws

    localaws.provision(settings)


def test_a_broken_contract_alerts_once_while_broken_and_once_when_it_recovers(
    dag_env: Settings,
) -> None:
    localaws_provision(dag_env)
    _publish(dag_env, seconds=1, seed=12)
    assert load_dag("accfb_refresh").test().state == "success"
    with warehouse.connect(dag_env.warehouse_path) as con:
        # A gift counted twice: exactly what the marts must never show.
        con.execute("insert into marts.fct_donations select * from marts.fct_donations limit 1")

    run = load_dag("accfb_data_quality").test()

    assert run.state == "failed"
    # The whole-table dbt tests run beside the contracts and alert on their own.
    dbt_alerts = [a for a in read_alerts(dag_env) if a["task_id"] == "dbt_tests"]
    assert len(dbt_alerts) == 1
    assert "unique_fct_donations_donation_id" in dbt_alerts[0]["summary"]
    alerts = [a for a in read_alerts(dag_env) if a["task_id"] != "dbt_tests"]
    assert [a["summary"] for a in alerts] == [
        "fct_donations: No duplicate values failed on donation_id"
    ]
    (alert,) = alerts
    assert alert["dag_id"] == "accfb_data_quality"
    assert alert["task_id"] == "check_contracts"
    assert alert["run_id"] == run.run_id
    assert "duplicate_count: 1" in alert["measured"]
    assert alert["threshold"] == "= 0"
    assert alert["runbook_url"] == "docs/runbooks.md#data-quality-failures"

    # A standing failure: the next run fails again and sends nothing new.
    assert load_dag("accfb_data_quality").test().state == "failed"
    assert [a["summary"] for a in read_alerts(dag_env) if a["task_id"] == "check_contracts"] == [
        "fct_donations: No duplicate values failed on donation_id"
    ]
    with warehouse.connect(dag_env.warehouse_path) as con:
        con.execute(
            "create or replace table marts.fct_donations as "
            "select distinct * from marts.fct_donations"
        )
    assert load_dag("accfb_data_quality").test().state == "success"
    summaries = [a["summary"] for a in read_alerts(dag_env)]
    assert summaries.count("recovered: fct_donations: No duplicate values on donation_id") == 1
    # The whole-table dbt test failed with it, and recovered with it.
    assert summaries.count("recovered: task:accfb_data_quality.dbt_tests") == 1
    assert len([a for a in read_alerts(dag_env) if a["task_id"] == "dbt_tests"]) == 2

"""The batch-load DAGs run for real with ``dag.test()``: an export dropped in the bucket is sensed,
loaded once into its lander table, the models that read it are built and the contracts verified;
a rerun changes nothing. With no export under its prefix the sensor does not let a run through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.local import localaws
from ingestion.operations.alerts import read_alerts
from ingestion.operations.close import revisions
from tests.dags.dagbag import load_dag
from tests.support import build, corpus, land, publish, query

CRM = (
    "donor_id,name,email,postal_code,is_major_donor,updated_at\n"
    "d_1,Ada Lovelace,ada@example.org,94601,true,2026-11-19T10:00:00Z\n"
    "d_2,Grace Hopper,grace@example.org,94607,false,2026-11-19T11:30:00Z\n"
)
SETTLEMENTS = (
    "processor,processor_txn_id,gross_cents,fee_cents,net_cents,payout_id,settled_at\n"
    "stripe,txn_1,2500,103,2397,po_1,2026-11-20T18:00:00Z\n"
    "stripe,txn_2,-1000,0,-1000,po_1,2026-11-20T18:05:00+00:00\n"
    "paypal,txn_3,10000,320,9680,po_2,2026-11-21T09:00:00Z\n"
)
CRM_KEY = "landing/crm/donors-2026-11-19.csv"
SETTLEMENTS_KEY = "landing/settlements/2026-11-20.csv"


def _drop(settings: Settings, key: str, text: str) -> None:
    aws.client("s3", settings).put_object(Bucket=settings.raw_bucket, Key=key, Body=text.encode())


def _landed(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """The lander tables without their load time and number (they say when, not what)."""
    return {
        table: query(
            settings,
            f"select * exclude (loaded_at, load_seq) from {table} "
            "order by source_key, source_row_number",
        )
        for table in ("lander.crm_donor_exports", "lander.processor_settlements")
    }


def _run(dag_id: str) -> dict[str, str]:
    run = load_dag(dag_id).test()
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "success", states
    return states


def test_each_export_is_sensed_loaded_once_built_and_checked_and_a_rerun_changes_nothing(
    dag_env: Settings,
) -> None:
    localaws.provision(dag_env)
    # A warehouse that already streams: every public mart exists for the contracts to verify.
    publish(dag_env, corpus(seed=71, seconds=1))
    land(dag_env)
    build(dag_env)
    _drop(dag_env, CRM_KEY, CRM)
    _drop(dag_env, SETTLEMENTS_KEY, SETTLEMENTS)

    for dag_id in ("accfb_batch_crm", "accfb_batch_settlements"):
        states = _run(dag_id)
        assert {"wait_for_file", "load", "transform.dbt_producer_watcher", "check_contracts"} <= (
            states.keys()
        ), states
        assert ("close" in states) == (dag_id == "accfb_batch_settlements"), states
        assert set(states.values()) == {"success"}, states

    landed = _landed(dag_env)
    crm_url = f"s3://{dag_env.raw_bucket}/{CRM_KEY}"
    assert [row[0] for row in landed["lander.crm_donor_exports"]] == ["d_1", "d_2"]
    assert {row[-2] for row in landed["lander.crm_donor_exports"]} == {crm_url}
    assert [(row[1], row[2], row[3], row[4]) for row in landed["lander.processor_settlements"]] == [
        ("txn_1", 2500, 103, 2397),
        ("txn_2", -1000, 0, -1000),
        ("txn_3", 10000, 320, 9680),
    ]

    # The builds took the exports into the marts that read them; PII only as a hash.
    donors = query(
        dag_env,
        "select donor_id, email_hash from marts.dim_donors where donor_id in ('d_1', 'd_2') "
        "order by donor_id",
    )
    assert [donor for donor, _ in donors] == ["d_1", "d_2"]
    assert all(len(digest) == 64 and "@" not in digest for _, digest in donors)
    settled = query(
        dag_env,
        "select processor_txn_id, settlement_net_cents from marts.rpt_settlement_reconciliation "
        "where processor_txn_id like 'txn_%' order by processor_txn_id",
    )
    assert settled == [("txn_1", 2397), ("txn_2", -1000), ("txn_3", 9680)]
    marts = _marts(dag_env)

    for dag_id in ("accfb_batch_crm", "accfb_batch_settlements"):
        assert set(_run(dag_id).values()) == {"success"}

    assert _landed(dag_env) == landed
    assert _marts(dag_env) == marts
    assert read_alerts(dag_env) == []
    # The settlement DAG closed the day before its run, once, with nothing to adjust.
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    assert [(r.close_date, r.entry_kind) for r in revisions(dag_env)] == [(yesterday, "close")]


def _marts(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: query(settings, f"select * from marts.{table} order by all")
        for table in ("dim_donors", "rpt_settlement_reconciliation", "rpt_daily_close")
    }


def test_a_refused_export_fails_the_load_with_its_reason_after_the_good_ones(
    dag_env: Settings,
) -> None:
    localaws.provision(dag_env)
    publish(dag_env, corpus(seed=72, seconds=1))
    land(dag_env)
    build(dag_env)
    _drop(dag_env, "landing/settlements/a-renamed.csv", SETTLEMENTS.replace("payout_id", "payout"))
    _drop(dag_env, SETTLEMENTS_KEY, SETTLEMENTS)

    run = load_dag("accfb_batch_settlements").test()

    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert run.state == "failed"
    assert (states["wait_for_file"], states["load"]) == ("success", "failed")
    rows = query(dag_env, "select distinct source_key from lander.processor_settlements")
    assert rows == [(f"s3://{dag_env.raw_bucket}/{SETTLEMENTS_KEY}",)]
    (alert,) = read_alerts(dag_env)
    assert alert["task_id"] == "load"
    assert "a-renamed.csv was not loaded: its header is" in alert["summary"]


def test_the_sensor_waits_until_a_csv_export_is_under_its_own_prefix(dag_env: Settings) -> None:
    localaws.provision(dag_env)
    from accfb_batch_loads import file_arrived

    assert file_arrived("crm") is False
    _drop(dag_env, SETTLEMENTS_KEY, SETTLEMENTS)  # another source's export
    _drop(dag_env, "landing/crm/README.txt", "not an export")  # not a file the load takes
    assert file_arrived("crm") is False
    assert file_arrived("settlements") is True

    _drop(dag_env, CRM_KEY, CRM)

    assert file_arrived("crm") is True
    # The day after tomorrow's run does not pass on today's file; tomorrow's still finds it.
    now = datetime.now(UTC)
    assert file_arrived("crm", logical_date=now + timedelta(days=2)) is False
    assert file_arrived("crm", logical_date=now + timedelta(hours=23)) is True

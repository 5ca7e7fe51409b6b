"""The Redshift SQL is proven by compiling every model for the Redshift target and parsing it.

No Redshift is reachable here, so dbt compiles offline (``--no-populate-cache`` and the
``offline_is_incremental`` var that macros/is_incremental.sql honours) and sqlglot parses each
compiled model with its Redshift dialect, for a first build, an incremental one and a full
refresh (``--full-refresh`` on tables that exist: what the runbook tells operators to run).

Unproven here, for want of a Redshift: that the streaming view's rows of one refresh share its
start as `refresh_time` and refreshes of one view are serialized (landed_records' stream cursor
rests on it), that LOCK orders concurrent loads and passes as documented, and the plans and
pruning Redshift chooses for the literal cursors.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from ingestion.dbt import TELEMETRY_OFF
from ingestion.settings import REPO_ROOT

MODELS = [
    "stream_events",
    "stg_stream__records",
    "stg_stream__events",
    "stg_donation_platform__donations",
    "stg_donation_platform__refunds",
    "stg_crm__donors",
    "stg_crm__donor_exports",
    "stg_warehouse__inventory_receipts",
    "stg_warehouse__inventory_shipments",
    "stg_warehouse__inventory_adjustments",
    "stg_partner_api__orders",
    "stg_partner_api__distribution_reports",
    "stg_processor__settlements",
    "fct_donations",
    "dim_donors",
    "dim_campaigns",
    "agg_campaign_progress",
    "fct_donation_ledger",
    "rpt_settlement_reconciliation",
    "rpt_daily_close",
    "fct_inventory_movements",
    "agg_inventory_on_hand",
    "fct_partner_distributions",
    "agg_distribution_daily",
    "rpt_open_partner_orders",
    "quarantined_events",
    "pipeline_freshness",
    "agg_quarantine_reasons",
    "landed_records",
    "int_donations_deduplicated",
    "int_refunds_deduplicated",
]


def _compile_for_redshift(target: Path, *args: str) -> str:
    env = {
        **os.environ,
        **TELEMETRY_OFF,
        "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        # Deployed targets refuse to hash PII without a key; this one only compiles.
        "ACCFB_PII_HASH_KEY": "compile-only",
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--target",
            "dev",
            "--no-populate-cache",
            *args,
            "--quiet",
        ],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    return done.stdout


@pytest.fixture(scope="module", params=[False, True], ids=["first-build", "incremental"])
def compiled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("redshift-target")
    incremental = "true" if request.param else "false"
    _compile_for_redshift(target, "--vars", f"{{offline_is_incremental: {incremental}}}")
    return target / "compiled" / "accfb" / "models"


@pytest.fixture(scope="module")
def full_refresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every model compiled as `dbt build --full-refresh` compiles it when its table exists."""
    target = tmp_path_factory.mktemp("redshift-full-refresh")
    _compile_for_redshift(target, "--full-refresh", "--vars", "{offline_is_incremental: true}")
    return target


def _model_sql(root: Path, name: str) -> str:
    (path,) = root.rglob(f"{name}.sql")
    return path.read_text()


@pytest.mark.parametrize("name", MODELS)
def test_every_model_compiles_to_sql_redshift_parses(compiled: Path, name: str) -> None:
    sql = _model_sql(compiled, name)

    tree = sqlglot.parse_one(sql, read="redshift")

    assert isinstance(tree, exp.Query)
    assert "json_extract" not in sql.lower(), "DuckDB JSON functions leaked into Redshift SQL"


def test_streaming_view_keeps_the_raw_record_and_parses_json_once(tmp_path: Path) -> None:
    ddl = _compile_for_redshift(
        tmp_path,
        "--vars",
        "{offline_is_incremental: true}",
        "--inline",
        "{{ stream_landing_view_sql() }}",
    )
    select = ddl.split("\nas\n", 1)[1]

    tree = sqlglot.parse_one(ddl, read="redshift")

    assert isinstance(tree, exp.Create)
    columns = [c.alias_or_name for c in tree.expression.selects]
    assert columns == [
        "approximate_arrival_timestamp",
        "partition_key",
        "shard_id",
        "sequence_number",
        "refresh_time",
        "kinesis_data",
        "record",
    ]
    source = tree.expression.find(exp.Table)
    assert source is not None and source.db == "kinesis_dev"
    assert "can_json_parse(kinesis_data)" in select and "json_parse(kinesis_data)" in select


def test_staging_navigates_super_instead_of_reparsing(compiled: Path) -> None:
    sql = _model_sql(compiled, "stg_stream__records")
    assert "record.payload.amount_cents" in sql
    assert "json_extract_path_text" not in sql.lower()


def test_donor_email_hash_uses_redshift_sha2_with_the_deployed_key(compiled: Path) -> None:
    sql = _model_sql(compiled, "dim_donors").lower()

    assert "sha2('compile-only' || lower(trim(email)), 256)" in sql
    assert "sha256(" not in sql


def _tables(sql: str) -> set[str]:
    tree = sqlglot.parse_one(sql, read="redshift")
    return {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db}


def _manifest_models(target: Path) -> dict[str, dict[str, object]]:
    nodes = json.loads((target / "manifest.json").read_text())["nodes"].values()
    return {n["name"]: n for n in nodes if n["resource_type"] == "model"}


def test_no_model_owns_the_streaming_view_so_no_full_refresh_can_drop_it(
    full_refresh: Path,
) -> None:
    models = _manifest_models(full_refresh)

    assert not [m for m, n in models.items() if n["config"]["materialized"] == "materialized_view"]
    stream_events = models["stream_events"]
    assert stream_events["config"]["materialized"] == "view"
    # Late binding: dropping and recreating it never cascades to the streaming view beneath.
    assert stream_events["config"]["bind"] is False
    sql = _model_sql(full_refresh / "compiled" / "accfb" / "models", "stream_events")
    assert _tables(sql) == {"lander.kinesis_records"}
    # The streaming view is created only by the run-operation that refreshes it.
    create = (REPO_ROOT / "macros" / "landing" / "stream_landing.sql").read_text()
    assert "create materialized view lander.kinesis_records" in create
    assert "materialized_view" not in "".join(
        p.read_text() for p in (REPO_ROOT / "models").rglob("*.sql")
    )


def test_a_full_refresh_appends_to_the_history_and_rebuilds_everything_else_from_it(
    full_refresh: Path,
) -> None:
    models = _manifest_models(full_refresh)
    root = full_refresh / "compiled" / "accfb" / "models"

    history = models["landed_records"]["config"]
    assert history["materialized"] == "incremental"
    assert history["incremental_strategy"] == "append"
    assert history["full_refresh"] is False
    # Compiled under --full-refresh, it still reads only past its cursors and probes itself for
    # positions already landed: it appends, it is never recreated.
    landed = _model_sql(root, "landed_records")
    assert "landing.landed_records" in _tables(landed)
    assert "where load_seq > 0" in landed
    assert "refresh_time > cast(" in landed
    # Every other incremental model compiles as a first build (no read of itself) and reaches the
    # landing only through landed_records: a full refresh rebuilds them from the whole history.
    rebuilt = [
        name
        for name, node in models.items()
        if node["config"]["materialized"] == "incremental" and name != "landed_records"
    ]
    assert {"stg_stream__records", "fct_donations", "fct_donation_ledger"} <= set(rebuilt)
    for name in rebuilt:
        tables = _tables(_model_sql(root, name))
        schema = str(models[name]["schema"])
        assert f"{schema}.{name}" not in tables, name
        assert "lander.kinesis_records" not in tables, name
    assert _tables(_model_sql(root, "stg_stream__records")) == {"landing.landed_records"}
    # Only the full_refresh=false model is exempt; nothing else claims it.
    assert [n for n, node in models.items() if node["config"].get("full_refresh") is False] == [
        "landed_records"
    ]


def test_incremental_passes_filter_on_literal_cursors_the_sort_keys_lead_with(
    compiled: Path,
) -> None:
    models = _manifest_models(compiled.parent.parent.parent)
    if "landed_batch >" not in _model_sql(compiled, "stg_stream__records"):
        pytest.skip("a first build reads no cursor")
    for name in (
        "stg_stream__records",
        "stg_stream__events",
        "stg_donation_platform__donations",
        "int_donations_deduplicated",
        "int_refunds_deduplicated",
        "quarantined_events",
    ):
        text = _model_sql(compiled, name)
        assert "landed_batch > 0" in text, name
        assert models[name]["config"]["sort"] == ["landed_batch"], name
    assert "landed_batch > (" not in _model_sql(compiled, "fct_donations")
    assert models["landed_records"]["config"]["sort"] == ["landed_batch"]
    assert models["fct_donations"]["config"]["dist"] == "donation_id"
    assert models["int_refunds_deduplicated"]["config"]["dist"] == "donation_id"

"""The Redshift SQL is proven by compiling every model for the Redshift target and parsing it.

No Redshift is reachable here, so dbt compiles offline (``--no-populate-cache`` and the
``offline_is_incremental`` var that macros/is_incremental.sql honours) and sqlglot parses each
compiled model with its Redshift dialect, for a first build and for an incremental one.
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

from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import REPO_ROOT

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
]


@pytest.fixture(scope="module", params=[False, True], ids=["first-build", "incremental"])
def compiled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("redshift-target")
    env = {
        **os.environ,
        **TELEMETRY_OFF,
        "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        # Deployed targets refuse to hash PII without a key; this one only compiles.
        "ACCFB_PII_HASH_KEY": "compile-only",
    }
    incremental = "true" if request.param else "false"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--target",
            "dev",
            "--no-populate-cache",
            "--vars",
            f"{{offline_is_incremental: {incremental}}}",
            "--quiet",
        ],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return target / "compiled" / "accfb" / "models"


def _model_sql(root: Path, name: str) -> str:
    (path,) = root.rglob(f"{name}.sql")
    return path.read_text()


@pytest.mark.parametrize("name", MODELS)
def test_every_model_compiles_to_sql_redshift_parses(compiled: Path, name: str) -> None:
    sql = _model_sql(compiled, name)

    tree = sqlglot.parse_one(sql, read="redshift")

    assert isinstance(tree, exp.Query)
    assert "json_extract" not in sql.lower(), "DuckDB JSON functions leaked into Redshift SQL"


def test_streaming_view_keeps_the_raw_record_and_parses_json_once(compiled: Path) -> None:
    select = _model_sql(compiled, "stream_events")
    ddl = f"create materialized view landing.stream_events backup no auto refresh yes as {select}"

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


def _analyst_access(compiled: Path) -> list[str]:
    sql = (compiled.parent / "analyses" / "analyst_access.sql").read_text()
    return [s.strip() for s in sql.split(";") if s.strip()]


def test_analysts_get_the_marts_through_a_role_the_deployment_creates(compiled: Path) -> None:
    statements = _analyst_access(compiled)

    # Created before anything is granted to it, with usage on the schema (select alone on a
    # table in a schema the role cannot use reads nothing).
    assert statements[:3] == [
        "create role accfb_analyst",
        "create schema if not exists marts",
        "grant usage on schema marts to role accfb_analyst",
    ]
    grants = [sqlglot.parse_one(s, read="redshift") for s in statements[3:]]
    assert all(isinstance(g, exp.Grant) for g in grants)
    # dbt-redshift grants to a *user* unless the grantee says `role:` and the
    # redshift_grants_extended flag is on: every grant must name the role.
    assert all(s.endswith(" to ROLE accfb_analyst") for s in statements[3:])
    granted = {g.find(exp.Table).name for g in grants if g.find(exp.Table) is not None}
    marts = {path.stem for path in (REPO_ROOT / "models" / "marts").rglob("*.sql")}
    assert granted == marts
    assert {g.find(exp.Table).db for g in grants if g.find(exp.Table) is not None} == {"marts"}


def _output_columns(compiled: Path, name: str) -> set[str]:
    """The model's columns: its compiled select list, or the columns its YAML declares (the
    marts' contracts are enforced) where the model ends in ``select *``."""
    tree = sqlglot.parse_one(_model_sql(compiled, name), read="redshift")
    assert isinstance(tree, exp.Query)
    selected = {select.alias_or_name for select in tree.selects} - {"*"}
    manifest = json.loads((compiled.parents[2] / "manifest.json").read_text())
    (node,) = [
        n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["name"] == name
    ]
    return selected | set(node["columns"])


def test_the_refresh_measures_its_figures_in_redshift_sql_over_the_real_models(
    compiled: Path,
) -> None:
    from ingestion.operations.metrics import REDSHIFT_FIGURES_SQL

    # redshift_connector binds %s; a literal stands in for the bound timestamp.
    sql = REDSHIFT_FIGURES_SQL.replace("%s", "'2026-12-01 00:00:00'::timestamp")
    tree = sqlglot.parse_one(sql, read="redshift")

    assert [s.alias_or_name for s in tree.selects] == [
        "freshness_p95_seconds",
        "landing_lag_seconds",
        "quarantined_events",
    ]
    read = {(t.db, t.name) for t in tree.find_all(exp.Table)}
    assert read == {
        ("marts", "fct_donations"),
        ("landing", "stream_events"),
        ("ops", "quarantined_events"),
    }
    # Every column the figures read is one the models build (the MV, the mart, the ops table).
    used = {c.name for c in tree.find_all(exp.Column)}
    built = (
        _output_columns(compiled, "fct_donations")
        | _output_columns(compiled, "stream_events")
        | _output_columns(compiled, "quarantined_events")
    )
    assert used <= built, used - built
    # DuckDB's quantile_cont and epoch() do not exist on Redshift.
    assert "quantile_cont" not in sql and "epoch(" not in sql
    assert tree.find(exp.PercentileCont) is not None

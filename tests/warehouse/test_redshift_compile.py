"""The Redshift SQL is proven by compiling every model for the Redshift target and parsing it.

No Redshift is reachable here, so dbt compiles offline (``--no-populate-cache`` and the
``offline_is_incremental`` var that macros/is_incremental.sql honours) and sqlglot parses each
compiled model with its Redshift dialect, for a first build and for an incremental one.
"""

from __future__ import annotations

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
    "conflicting_redeliveries",
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


# --- hostile input on Redshift (issue 12): semantics the compiled SQL must carry ------------------


def _super_operand(node: exp.Expression) -> bool:
    """Whether an expression reads a SUPER value: the parsed record or a contract path of it."""
    return any(
        column.name == "record" or column.name.startswith("f_") or column.table == "record"
        for column in node.find_all(exp.Column)
    ) or any(dot.sql().startswith("record.") for dot in node.find_all(exp.Dot))


@pytest.mark.parametrize("name", MODELS)
def test_no_super_value_is_cast_to_a_bare_varchar(compiled: Path, name: str) -> None:
    # A bare VARCHAR is VARCHAR(256) on Redshift: a longer name, email or reason would be cut, and
    # a hashed email would differ from DuckDB's.
    tree = sqlglot.parse_one(_model_sql(compiled, name), read="redshift")
    bare = [
        cast.sql(dialect="redshift")
        for cast in tree.find_all(exp.Cast)
        if cast.to.this in {exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT}
        and not cast.to.expressions
        and _super_operand(cast.this)
    ]
    assert bare == []


def test_super_casts_say_their_length(compiled: Path) -> None:
    sql = _model_sql(compiled, "stg_donation_platform__donations")
    assert "(record.payload.donor.email)::varchar(65535)" in sql


def _string_literals(sql: str) -> list[str]:
    tree = sqlglot.parse_one(sql, read="redshift")
    return [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]


def test_timestamps_are_checked_calendar_valid_on_redshift(compiled: Path) -> None:
    # Redshift has no try-cast, so the pattern alone must refuse what its cast would fail on.
    import re

    from ingestion.contract.sql import FORMAT_PATTERNS

    sql = _model_sql(compiled, "stg_stream__records")
    pattern = FORMAT_PATTERNS["date-time"]
    assert f"(f_occurred_at)::varchar(65535) ~ '{pattern}'" in sql
    assert pattern in _string_literals(sql)
    # Only POSIX ERE: no lookaround, non-capturing groups or class escapes Redshift reads otherwise.
    assert not re.search(r"\(\?|\\[dDsSwWb]", pattern)
    bad_ones = ["2026-02-30T25:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z"]
    bad_ones += ["2026-03-02T24:00:00Z", "0000-01-01T00:00:00Z", "2026-03-02T23:59:60Z"]
    for bad in bad_ones:
        assert re.search(pattern, bad) is None, bad
    for good in ("2024-02-29T00:00:00Z", "2026-03-02t09:04:05.123-08:00", "2000-02-29T23:59:59z"):
        assert re.search(pattern, good) is not None, good


def test_occurred_at_window_is_checked_against_arrival_without_an_unguarded_cast(
    compiled: Path,
) -> None:
    sql = " ".join(_model_sql(compiled, "stg_stream__records").split())
    assert "cast('2000-01-01 00:00:00' as timestamp)" in sql
    assert (
        "convert_timezone('UTC', approximate_arrival_timestamp)::timestamp + interval '300 seconds'"
        in sql
    )
    # The window's cast runs only on text the calendar pattern accepted.
    assert "case when (f_occurred_at)::varchar(65535) ~ '" in sql


def test_too_large_is_decided_on_the_bytes_before_any_parse(compiled: Path) -> None:
    sql = " ".join(_model_sql(compiled, "stg_stream__records").split())
    first = sql.index("when octet_length(kinesis_data) > 1048576 then 'too_large'")
    assert first < sql.index("when not is_json then 'invalid_json'")


def test_staging_types_super_values_only_when_they_are_of_that_type(compiled: Path) -> None:
    raw = _model_sql(compiled, "stg_donation_platform__donations")
    sql = " ".join(raw.split())
    assert (
        "case when is_integer(record.payload.amount_cents)"
        " or is_bigint(record.payload.amount_cents) then (record.payload.amount_cents)::bigint end"
    ) in sql
    assert "case when is_boolean(record.payload.is_recurring)" in sql
    tree = sqlglot.parse_one(raw, read="redshift")
    unguarded = [
        c.sql(dialect="redshift")
        for c in tree.find_all(exp.Cast)
        if c.to.this == exp.DataType.Type.BIGINT and not isinstance(c.parent, exp.If)
        and c.find_ancestor(exp.Case) is None
    ]  # fmt: skip
    assert unguarded == []

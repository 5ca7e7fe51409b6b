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
    "int_processor_settlement_cutoffs",
    "int_ledger_daily",
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
    "int_donations_deduplicated",
    "int_refunds_deduplicated",
    "int_campaign_daily",
    "int_campaign_daily_batches",
    "int_campaign_donors",
    "int_inventory_daily",
    "int_partner_order_queue",
]


def _compile_for_redshift(target: Path, *args: str) -> str:
    env = {
        **os.environ,
        **TELEMETRY_OFF,
        "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        # The deployed stream's name, whatever an earlier test of this process left in the
        # environment (run_dbt exports its settings' stream).
        "ACCFB_STREAM_NAME": "accfb-events",
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
        "kinesis_data_bytes",
        "record",
    ]
    source = tree.expression.find(exp.Table)
    assert source is not None and source.db == "kinesis_dev"
    assert "can_json_parse(kinesis_data)" in select and "json_parse(kinesis_data)" in select


def test_staging_navigates_super_instead_of_reparsing(compiled: Path) -> None:
    sql = _model_sql(compiled, "stg_stream__records")
    assert "record.payload.amount_cents" in sql
    assert "json_extract_path_text" not in sql.lower()


def test_donor_email_hash_calls_the_lambda_udf_and_holds_no_key(compiled: Path) -> None:
    sql = _model_sql(compiled, "dim_donors").lower()

    # The key lives in the function (ingestion/pii/), never in the SQL text.
    assert "f_accfb_pii_hmac(email) as email_hash" in sql
    assert "sha2(" not in sql and "sha256(" not in sql


@pytest.mark.parametrize(
    ("model", "column", "key"),
    [
        ("stg_donation_platform__donations", "donation_id_hash", "payload.donation_id"),
        ("fct_donations", "processor_txn_id_hash", "processor_txn_id"),
        ("stg_stream__events", "event_id_hash", "event_id"),
    ],
)
def test_a_stored_key_hash_is_the_first_60_bits_of_md5_on_redshift_too(
    compiled: Path, model: str, column: str, key: str
) -> None:
    # The probes match what a table stored to what a pass computes, so both must come from one
    # function that no release changes: MD5's first 15 hex digits as a BIGINT, which DuckDB
    # computes as tests/statemachine/test_counterexamples.py checks against Python.
    sql = _model_sql(compiled, model)
    (hashed,) = [
        a for a in sqlglot.parse_one(sql, read="redshift").find_all(exp.Alias)
        if a.alias == column
    ]  # fmt: skip
    # strtol(left(md5(key), 15), 16), as sqlglot reads it.
    call = hashed.this
    assert isinstance(call, exp.FromBase)
    assert call.expression.sql() == "16"
    left = call.this
    assert isinstance(left, exp.Left)
    assert left.expression.sql() == "15"
    assert isinstance(left.this, exp.MD5)
    assert key in left.this.sql("redshift")


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


def test_the_finance_models_read_only_what_is_past_their_cursors(compiled: Path) -> None:
    """The minute's finance models (issue 15) cost the new batches and exports, not history."""
    if "landed_batch >" not in _model_sql(compiled, "stg_stream__records"):
        pytest.skip("a first build reads no cursor")
    cursors = {
        "stg_processor__settlements": ["load_seq > 0"],
        "int_processor_settlement_cutoffs": ["latest_load_seq > 0"],
        "rpt_settlement_reconciliation": ["landed_batch > 0", "latest_load_seq > 0"],
        "int_ledger_daily": ["landed_batch > 0"],
        "rpt_daily_close": ["computed_batch > 0", "reconciled_pass > 0"],
    }
    for name, filters in cursors.items():
        text = _model_sql(compiled, name)
        for cursor in filters:
            assert cursor in text, (name, cursor)
    # The day's close and audit export are no model the minute could build.
    models = _manifest_models(compiled.parent.parent.parent)
    assert "rpt_closed_days" not in models


def _analyst_access(compiled: Path) -> list[str]:
    sql = (compiled.parent / "analyses" / "analyst_access.sql").read_text()
    return [s.strip() for s in sql.split(";") if s.strip()]


def test_analysts_get_the_marts_through_a_role_the_deployment_creates(compiled: Path) -> None:
    statements = _analyst_access(compiled)

    # Each role created before anything is granted to it, with usage on its schema (select
    # alone on a table in a schema the role cannot use reads nothing).
    assert statements[:6] == [
        "create role accfb_analyst",
        "create schema if not exists marts",
        "grant usage on schema marts to role accfb_analyst",
        "create role accfb_operations",
        "create schema if not exists ops",
        "grant usage on schema ops to role accfb_operations",
    ]
    grants = [sqlglot.parse_one(s, read="redshift") for s in statements[6:]]
    assert all(isinstance(g, exp.Grant) for g in grants)
    # dbt-redshift grants to a *user* unless the grantee says `role:` and the
    # redshift_grants_extended flag is on: every grant must name a role.
    by_role: dict[str, set[tuple[str, str]]] = {}
    for statement, grant in zip(statements[6:], grants, strict=True):
        role = statement.rsplit(" to ROLE ", 1)[1]
        table = grant.find(exp.Table)
        assert table is not None
        by_role.setdefault(role, set()).add((table.db, table.name))
    marts = {path.stem for path in (REPO_ROOT / "models" / "marts").rglob("*.sql")}
    assert by_role.pop("accfb_analyst") == {("marts", name) for name in marts}
    # The operations page's tables, explicitly: never the raw quarantined records.
    assert by_role.pop("accfb_operations") == {
        ("ops", "pipeline_freshness"),
        ("ops", "agg_quarantine_reasons"),
    }
    assert by_role == {}


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
        "conflicting_redeliveries",
    ]
    read = {(t.db, t.name) for t in tree.find_all(exp.Table)}
    assert read == {
        ("marts", "fct_donations"),
        ("landing", "stream_events"),
        ("ops", "quarantined_events"),
        ("ops", "conflicting_redeliveries"),
    }
    # Every column the figures read is one the models build (the MV, the mart, the ops table).
    used = {c.name for c in tree.find_all(exp.Column)}
    built = (
        _output_columns(compiled, "fct_donations")
        | _output_columns(compiled, "stream_events")
        | _output_columns(compiled, "quarantined_events")
        | _output_columns(compiled, "conflicting_redeliveries")
    )
    assert used <= built, used - built
    # DuckDB's quantile_cont and epoch() do not exist on Redshift.
    assert "quantile_cont" not in sql and "epoch(" not in sql
    assert tree.find(exp.PercentileCont) is not None


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
    first = sql.index(
        "when coalesce(kinesis_data_bytes, octet_length(kinesis_data)) > 65535 then 'too_large'"
    )
    assert first < sql.index("when not is_json then 'invalid_json'")


def _inline(tmp_path: Path, jinja: str) -> str:
    return _compile_for_redshift(
        tmp_path, "--vars", "{offline_is_incremental: true}", "--inline", jinja
    )


def test_the_record_limit_is_the_widest_text_redshift_keeps(tmp_path: Path) -> None:
    # One maximum on every path (issue 12): Redshift's VARCHAR holds 65,535 bytes, so a larger
    # limit would let the streaming view or COPY cut a record the lander keeps whole.
    from ingestion.contract.limits import MAX_RECORD_BYTES

    assert MAX_RECORD_BYTES == 65535
    ddl = _inline(tmp_path, "{{ backfill_landing_table() }}")
    (text,) = [
        c for c in sqlglot.parse_one(ddl, read="redshift").find_all(exp.ColumnDef)
        if c.name == "kinesis_data"
    ]  # fmt: skip
    assert text.args["kind"].sql("redshift").upper() == f"VARCHAR({MAX_RECORD_BYTES})"


def _guarded_by_the_limit(node: exp.Expression, limit: int) -> bool:
    """Whether ``node`` runs only for a record of at most ``limit`` bytes: inside a CASE branch
    whose condition is (or is ANDed with) octet_length(kinesis_data) <= limit."""
    branch = node.find_ancestor(exp.If)
    if branch is None:
        return False
    conditions = [branch.this, *branch.this.find_all(exp.LTE)]
    return any(
        isinstance(c, exp.LTE)
        and c.this.sql("redshift").lower() == "octet_length(kinesis_data)"
        and c.expression.sql() == str(limit)
        for c in conditions
    )


def test_the_streaming_view_never_converts_or_parses_a_record_over_the_limit(
    tmp_path: Path,
) -> None:
    # from_varbyte into VARCHAR would cut (or fail on) a record past 65,535 bytes; the view
    # keeps such a record's size instead, and staging quarantines it as too_large.
    tree = sqlglot.parse_one(_inline(tmp_path, "{{ stream_landing_view_sql() }}"), read="redshift")
    conversions: list[exp.Expression] = [
        f for f in tree.find_all(exp.Anonymous) if f.name.lower() == "from_varbyte"
    ]
    conversions += list(tree.find_all(exp.ParseJSON))
    assert len(conversions) == 2, [f.sql("redshift") for f in conversions]
    assert all(_guarded_by_the_limit(f, 65535) for f in conversions), [
        f.sql("redshift") for f in conversions
    ]
    (size,) = [s for s in tree.expression.selects if s.alias_or_name == "kinesis_data_bytes"]
    assert size.this.sql("redshift").lower() == "octet_length(kinesis_data)"


def test_the_ddl_written_out_for_people_is_the_macros(tmp_path: Path) -> None:
    # infra/sql/streaming_ingestion.sql is what disaster recovery runs by hand: the same view.
    written = (REPO_ROOT / "infra" / "sql" / "streaming_ingestion.sql").read_text()
    written = written.format(
        external_schema="kinesis_dev", stream_name="accfb-events", iam_role_arn="arn:x"
    )
    (_, by_hand) = sqlglot.parse(written, read="redshift")
    by_macro = sqlglot.parse_one(
        _inline(tmp_path, "{{ stream_landing_view_sql() }}"), read="redshift"
    )
    assert by_hand is not None
    assert by_hand.sql("redshift", comments=False) == by_macro.sql("redshift", comments=False)


def test_both_landings_give_landed_records_the_same_columns_in_order(tmp_path: Path) -> None:
    # landed_records unions them by position: a column in one and not the other would shift.
    def columns(jinja: str) -> list[str]:
        tree = sqlglot.parse_one(_inline(tmp_path, jinja), read="redshift")
        return [c.alias_or_name for c in tree.selects]

    stream = columns("{{ stream_landing_select() }}")
    backfill = columns("{{ backfill_landing_select() }}")
    assert backfill == [*stream, "load_seq"]
    assert "kinesis_data_bytes" in stream


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


def test_the_refresh_stamps_source_to_dashboard_freshness_in_redshift_sql(
    compiled: Path,
) -> None:
    from ingestion.operations.metrics import REDSHIFT_STAMP_SQL, REDSHIFT_VISIBLE_SQL

    at = "'2026-12-01 00:00:00'::timestamp"
    visible = sqlglot.parse_one(REDSHIFT_VISIBLE_SQL.replace("%s", at), read="redshift")
    stamp = sqlglot.parse_one(REDSHIFT_STAMP_SQL.replace("%s", at), read="redshift")

    assert {(t.db, t.name) for t in visible.find_all(exp.Table)} == {
        ("ops", "pipeline_freshness"),
        ("marts", "fct_donations"),
    }
    built = _output_columns(compiled, "fct_donations") | _output_columns(
        compiled, "pipeline_freshness"
    )
    used = {c.name for c in visible.find_all(exp.Column)} | {
        c.name for c in stamp.find_all(exp.Column)
    }
    assert used <= built, used - built
    assert isinstance(stamp, exp.Update)
    assert {e.this.name for e in stamp.args["expressions"]} == {
        "published_at",
        "dashboard_freshness_p50_seconds",
        "dashboard_freshness_p95_seconds",
    }
    # DuckDB's quantile_cont and epoch() do not exist on Redshift.
    assert "quantile_cont" not in REDSHIFT_VISIBLE_SQL and "epoch(" not in REDSHIFT_VISIBLE_SQL
    assert visible.find(exp.PercentileCont) is not None

"""The Redshift side of the batch loads (COPY ... MANIFEST from S3), compiled offline and parsed.

No Redshift is reachable here: dbt compiles the load macros' SQL for the Redshift target
(``--inline``, no cache) and sqlglot parses every statement with its Redshift dialect.
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

from ingestion.batch.sources import BATCH_SOURCES
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import REPO_ROOT
from ingestion.contract import SCHEMA_DIR

MANIFEST = "s3://accfb-raw/manifests/replay/abc.json"
SETTLEMENT_ROW = SCHEMA_DIR / "batch" / "settlement_row.v1.json"


def _compile_for_redshift(inline: str, target: Path, *args: str) -> str:
    env = {
        **os.environ,
        **TELEMETRY_OFF,
        "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "compile",
            "--target",
            "dev",
            "--no-populate-cache",
            "--quiet",
            "--output",
            "json",
            *args,
            "--inline",
            inline,
        ],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    compiled: str = json.loads(done.stdout)["compiled"]
    return compiled


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redshift-loads")


def test_replay_load_copies_exactly_the_manifest_and_inserts_only_new_records(
    target: Path,
) -> None:
    sql = _compile_for_redshift(
        "{{ redshift_archive_window_sql('" + MANIFEST + "', "
        "'2026-11-24T10:00:00+00:00', '2026-11-24T11:00:00+00:00') }}",
        target,
    )

    statements = sqlglot.parse(sql, read="redshift")

    kinds = [type(s).__name__ for s in statements]
    assert kinds == ["Create", "Copy", "Command", "Insert", "Drop"], kinds
    copy = statements[1]
    assert isinstance(copy, exp.Copy)
    copy_sql = sql.lower()
    for option in ("format as json 'auto'", "gzip", "manifest", "iam_role", MANIFEST):
        assert option in copy_sql
    _numbers_the_load_while_holding(statements, "lander.backfill_records")
    assert statements[3].find(exp.Exists) is not None  # records already loaded are skipped


def test_replay_lands_a_record_over_the_limit_with_its_size_never_its_cut_text(
    target: Path,
) -> None:
    # COPY's TRUNCATECOLUMNS cuts a text past VARCHAR(65535) to keep the load going; the insert
    # must never land that cut text (it would be quarantined as invalid_json, or worse pass),
    # but an empty one and the record's real size from the archive line, so it is too_large.
    sql = _compile_for_redshift(
        "{{ redshift_archive_window_sql('" + MANIFEST + "', "
        "'2026-11-24T10:00:00+00:00', '2026-11-24T11:00:00+00:00') }}",
        target,
    )
    create, _, _, insert, _ = sqlglot.parse(sql, read="redshift")
    assert create is not None and isinstance(insert, exp.Insert)
    copied = {
        c.name: c.args["kind"].sql("redshift").upper() for c in create.find_all(exp.ColumnDef)
    }
    assert copied["kinesis_data"] == "VARCHAR(65535)" and copied["record_bytes"] == "BIGINT"
    # Columns by name: the table's later columns are appended, so position would misplace them.
    assert [c.name for c in insert.this.expressions] == [
        "approximate_arrival_timestamp",
        "partition_key",
        "shard_id",
        "sequence_number",
        "refresh_time",
        "kinesis_data",
        "kinesis_data_bytes",
        "archive_key",
        "load_seq",
    ]
    select = insert.expression
    assert isinstance(select, exp.Select)
    landed = {s.alias_or_name: s.this for s in select.selects}
    text = landed["kinesis_data"]
    assert isinstance(text, exp.Case)
    (branch,) = text.args["ifs"]
    assert isinstance(branch.this, exp.GT) and branch.this.expression.sql() == "65535"
    assert branch.args["true"].sql() == "''" and text.args["default"].sql() == "kinesis_data"
    size = landed["kinesis_data_bytes"]
    assert isinstance(size, exp.Coalesce) and size.this.sql() == "record_bytes"
    assert branch.this.this == size


def _numbers_the_load_while_holding(statements: list[exp.Expression | None], table: str) -> None:
    """The load takes its number (the highest committed + 1) after it holds the table, so loads
    commit in number order: a load that ran long is never behind one a model already read."""
    lock, insert = statements[2], statements[3]
    assert lock is not None and lock.sql("redshift", comments=False).lower() == f"lock {table}"
    assert isinstance(insert, exp.Insert)
    numbered = [a for a in insert.find_all(exp.Alias) if a.alias == "load_seq"]
    assert len(numbered) == 1
    assert "coalesce(max(load_seq), 0) + 1" in numbered[0].sql("redshift").lower()


ETAG = "0123456789abcdef0123456789abcdef"
LOAD_KINDS = [
    "Create",  # csv_batch
    "Copy",
    "Command",  # lock the landing table
    "Command",  # lock the ledger
    "Create",  # csv_load: the version's number, or no row if the version is known
    "Delete",  # an earlier version's rows
    "Insert",  # the rows
    "Insert",  # the ledger row
    "Drop",
    "Drop",
]


def _csv_load_plans(target: Path, table: str, url: str) -> dict[str, list[str]]:
    """The statements a Redshift load runs for each outcome of the ledger lookup."""
    compiled = _compile_for_redshift(
        "{{ tojson({"
        + ", ".join(
            f"'{outcome}': redshift_csv_object_statements('{table}', '{MANIFEST}', '{url}', "
            f"'{ETAG}', '{outcome}')"
            for outcome in ("new", "corrected", "unchanged", "adopted")
        )
        + "}) }}",
        target,
    )
    plans: dict[str, list[str]] = json.loads(compiled)
    return plans


@pytest.mark.parametrize("name", sorted(BATCH_SOURCES))
def test_batch_csv_load_copies_a_version_once_and_a_known_one_never(
    target: Path, name: str
) -> None:
    source = BATCH_SOURCES[name]
    url = f"s3://accfb-raw/{source.prefix}x.csv"
    plans = _csv_load_plans(target, source.table, url)

    # Known key, same ETag: nothing runs, the COPY above all.
    assert plans["unchanged"] == []
    # Loaded before the ledger: recorded as it stands, no COPY.
    adopted = [sqlglot.parse_one(s, read="redshift") for s in plans["adopted"]]
    assert not any(isinstance(s, exp.Copy) for s in adopted)
    assert isinstance(adopted[-1], exp.Insert)
    assert adopted[-1].this.sql("redshift").lower().startswith("lander.batch_export_ledger")

    for outcome in ("new", "corrected"):
        statements = [sqlglot.parse_one(s, read="redshift") for s in plans[outcome]]
        assert [type(s).__name__ for s in statements] == LOAD_KINDS, outcome
        sql = ";\n".join(plans[outcome]).lower()
        assert "format as csv" in sql and "manifest" in sql
        _numbers_the_version_while_holding(statements, source.table, url)
        ledger_row = statements[7]
        assert isinstance(ledger_row, exp.Insert)
        assert ledger_row.this.sql("redshift").lower().startswith("lander.batch_export_ledger")
        literals = {lit.this for lit in ledger_row.find_all(exp.Literal) if lit.is_string}
        assert {url, ETAG, outcome, source.table} <= literals


def _numbers_the_version_while_holding(
    statements: list[exp.Expression | None], table: str, url: str
) -> None:
    """Holding both tables, the load numbers the version past any number the table or the
    ledger ever held, only when the ledger lacks this key and ETag; the delete, the insert and
    the ledger row all read that one number, so a version already known changes nothing."""
    locks = [s.sql("redshift", comments=False).lower() for s in statements[2:4] if s is not None]
    assert locks == [f"lock {table}", "lock lander.batch_export_ledger"]
    number = statements[4]
    assert isinstance(number, exp.Create)
    number_sql = number.sql("redshift").lower()
    assert "greatest(" in number_sql and "lander.batch_export_ledger" in number_sql
    guard = number.find(exp.Not)
    assert guard is not None and guard.find(exp.Exists) is not None
    guard_literals = {lit.this for lit in guard.find_all(exp.Literal) if lit.is_string}
    assert {url, ETAG} <= guard_literals
    delete, insert = statements[5], statements[6]
    assert isinstance(delete, exp.Delete) and "csv_load" in delete.sql("redshift")
    assert isinstance(insert, exp.Insert)
    assert any(t.name == "csv_load" for t in insert.find_all(exp.Table))


def test_the_ledger_is_read_and_its_outcome_decided_before_any_copy(target: Path) -> None:
    url = "s3://accfb-raw/landing/settlements/x.csv"
    compiled = _compile_for_redshift(
        "{{ tojson({"
        "'lookup': batch_export_known_sql('lander.processor_settlements', '" + url + "'), "
        "'new': batch_export_outcome(none, 0, 'e1'), "
        "'adopted': batch_export_outcome(none, 3, 'e1'), "
        "'unchanged': batch_export_outcome('e1', 3, 'e1'), "
        "'corrected': batch_export_outcome('e0', 3, 'e1')"
        "}) }}",
        target,
    )
    decided = json.loads(compiled)

    assert {k: v for k, v in decided.items() if k != "lookup"} == {
        "new": "new",
        "adopted": "adopted",
        "unchanged": "unchanged",
        "corrected": "corrected",
    }
    lookup = sqlglot.parse_one(decided["lookup"], read="redshift")
    tables = {t.sql("redshift").lower() for t in lookup.find_all(exp.Table)}
    assert {"lander.batch_export_ledger as ledger", "lander.processor_settlements as landed"} <= (
        tables
    )
    # In the macro the load runs, the lookup comes first and an unchanged outcome stops there.
    macros = (REPO_ROOT / "macros" / "batch" / "load_from_s3.sql").read_text()
    body = macros[macros.index("{% macro load_csv_object(") :]
    body = body[: body.index("{%- endmacro %}")]
    assert body.index("batch_export_known_sql(") < body.index("adapter.dispatch('load_csv_object'")
    assert "{% if outcome != 'unchanged' %}" in body


@pytest.mark.parametrize("name", sorted(BATCH_SOURCES))
def test_batch_landing_table_ddl_parses_with_its_distribution_and_sort_key(
    target: Path, name: str
) -> None:
    table = BATCH_SOURCES[name].table
    sql = _compile_for_redshift("{{ batch_landing_table('" + table + "') }}", target)

    create = sqlglot.parse_one(sql, read="redshift")

    assert isinstance(create, exp.Create)
    columns = [c.name for c in create.find_all(exp.ColumnDef)]
    assert columns[-4:] == ["source_key", "source_row_number", "loaded_at", "load_seq"]
    # Incremental models read the loads past their cursor: the sort key prunes the rest.
    assert "sortkey (load_seq)" in sql.lower()


def test_settlement_landing_columns_are_the_contracts_settlement_row(target: Path) -> None:
    compiled = _compile_for_redshift(
        "{{ tojson(batch_landing_columns('lander.processor_settlements')) }}", target
    )
    schema = json.loads(SETTLEMENT_ROW.read_text())

    assert list(json.loads(compiled)) == list(schema["properties"])


HOSTILE_URL = "s3://accfb-raw/landing/crm/x.csv'); drop table lander.crm_donor_exports; --\\"


def test_a_hostile_key_stays_one_quoted_literal_in_the_load_statements(target: Path) -> None:
    # Redshift reads a backslash in a literal as an escape: the one quoting macro doubles it
    # with the quote, so the key can neither end its literal nor add a statement.
    jinja_value = HOSTILE_URL.replace("\\", "\\\\")
    sql = _compile_for_redshift(
        '{% set key = "' + jinja_value + '" %}'
        "{{ redshift_csv_object_sql('lander.crm_donor_exports', key, key, 'e', 'new') }}",
        target,
    )

    statements = sqlglot.parse(sql, read="redshift")

    # The locks (Commands to sqlglot) hold the tables for the load numbering, issue 11.
    assert [type(s).__name__ for s in statements] == LOAD_KINDS
    assert "x.csv''); drop table" in sql and "--\\\\'" in sql
    literals = {lit.this for s in statements for lit in s.find_all(exp.Literal) if lit.is_string}
    assert HOSTILE_URL in literals or HOSTILE_URL.replace("\\", "\\\\") in literals
    assert not any(isinstance(s, exp.Drop) and "crm_donor_exports" in s.sql() for s in statements)
    assert not any(
        isinstance(s, exp.Delete) and "crm_donor_exports" not in s.sql() for s in statements
    )


def test_the_load_runs_statements_from_a_list_never_text_split_on_semicolons() -> None:
    macros = (REPO_ROOT / "macros" / "batch" / "load_from_s3.sql").read_text()
    assert ".split(" not in macros
    assert "run_statements(redshift_csv_object_statements(" in macros
    assert "run_statements(redshift_archive_window_statements(" in macros


def test_the_batch_export_ledger_ddl_parses_and_keeps_every_versions_identity(
    target: Path,
) -> None:
    sql = _compile_for_redshift("{{ batch_export_ledger_table() }}", target)

    create = sqlglot.parse_one(sql, read="redshift")

    assert isinstance(create, exp.Create)
    assert [c.name for c in create.find_all(exp.ColumnDef)] == [
        "landing_table",
        "source_key",
        "etag",
        "rows_loaded",
        "load_seq",
        "loaded_at",
        "outcome",
    ]
    # Small and read by every load's lookup: a copy on every node, sorted by the key it is
    # looked up by.
    assert "diststyle all" in sql.lower() and "sortkey (source_key)" in sql.lower()


def test_a_batch_row_is_numbered_by_its_file_row_not_by_the_load_order(target: Path) -> None:
    # Redshift loads in parallel and row_number() over () has no defined order: the number is
    # the first column of the numbered copy the manifest names (ingestion/batch/numbering.py).
    plans = _csv_load_plans(target, "lander.crm_donor_exports", "s3://accfb-raw/landing/crm/x.csv")
    create, copy = (sqlglot.parse_one(s, read="redshift") for s in plans["new"][:2])
    insert = sqlglot.parse_one(plans["new"][6], read="redshift")

    assert next(c.name for c in create.find_all(exp.ColumnDef)) == "source_row_number"
    assert copy.sql("redshift").lower().startswith("copy csv_batch (source_row_number, donor_id")
    assert insert.find(exp.Window) is None
    assert "csv_batch.source_row_number" in insert.sql("redshift").lower()

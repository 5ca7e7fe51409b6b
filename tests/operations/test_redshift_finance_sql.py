"""The Redshift side of the close and the audit export, compiled offline and parsed.

No Redshift is reachable here: dbt compiles the macros for the Redshift target and sqlglot
parses each statement (and each UNLOAD's query) with its Redshift dialect.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from ingestion.operations.audit import FIGURES
from tests.replay.test_redshift_loads import _compile_for_redshift

PREFIX = "s3://accfb-prod-audit-123456789012-us-west-2/finance/close_date=2026-11-20/revision=1"


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("redshift-finance")


def _tables(tree: exp.Expression) -> set[str]:
    return {f"{t.db}.{t.name}" for t in tree.find_all(exp.Table)}


def test_the_audit_export_unloads_each_file_as_parquet_without_overwriting(target: Path) -> None:
    sql = _compile_for_redshift(
        "{{ redshift_audit_export_sql('2026-11-20', 1, '" + PREFIX + "') }}", target
    )

    statements = [s.strip() for s in sql.split(";\n")]
    assert len(statements) == 3
    queried: dict[str, set[str]] = {}
    for statement, name in zip(statements, ("ledger", "reconciliation", "close"), strict=True):
        match = re.fullmatch(
            r"unload \('(?P<query>.*)'\)\nto '(?P<to>[^']*)'\niam_role '(?P<role>[^']*)'\n"
            r"format as parquet\nparallel off",
            statement,
            re.DOTALL,
        )
        assert match, statement
        assert match["to"] == f"{PREFIX}/{name}"
        assert match["role"].startswith("arn:aws:iam::")
        # No ALLOWOVERWRITE: an object already at the key fails the unload, never replaced.
        assert "allowoverwrite" not in statement.lower()
        query = sqlglot.parse_one(match["query"].replace("''", "'"), read="redshift")
        assert isinstance(query, exp.Select)
        queried[name] = _tables(query)
        where = query.args["where"].sql(dialect="redshift")
        assert "'2026-11-20'" in where, where
    assert queried == {
        "ledger": {"marts.fct_donation_ledger"},
        "reconciliation": {"marts.rpt_settlement_reconciliation"},
        "close": {"marts.rpt_closed_days"},
    }
    close_query = statements[2]
    assert "revision <= 1" in close_query


def test_the_close_and_its_adjustments_are_inserts_redshift_parses(target: Path) -> None:
    sql = _compile_for_redshift(
        "{{ closed_days_table() }};\n{{ close_day_sql('2026-11-20') }};\n"
        "{{ close_adjustments_sql() }}",
        target,
    )

    create, close, adjustments = sqlglot.parse(sql, read="redshift")

    assert isinstance(create, exp.Create)
    assert isinstance(close, exp.Insert) and isinstance(adjustments, exp.Insert)
    for insert in (close, adjustments):
        into = insert.this.find(exp.Table)
        assert into is not None and f"{into.db}.{into.name}" == "marts.rpt_closed_days"
    assert "marts.rpt_daily_close" in _tables(close)
    # The causes: ledger entries, settlement rows and the export versions loaded since.
    assert {
        "marts.rpt_daily_close",
        "marts.fct_donation_ledger",
        "staging.stg_processor__settlements",
        "lander.batch_export_ledger",
    } <= _tables(adjustments)
    # Never an update or a delete of a closed day's rows.
    assert not list(adjustments.find_all(exp.Update, exp.Delete))
    assert "listagg" in adjustments.sql(dialect="redshift").lower()


def test_the_audit_exports_check_compares_every_close_figure_with_the_files_selections(
    target: Path,
) -> None:
    sql = _compile_for_redshift("{{ audit_export_differences_sql('2026-11-20', 1) }}", target)

    query = sqlglot.parse_one(sql, read="redshift")

    assert isinstance(query, exp.Select)
    assert _tables(query) >= {
        "marts.fct_donation_ledger",
        "marts.rpt_settlement_reconciliation",
        "marts.rpt_closed_days",
    }
    # One branch per close figure, each kept only where the two sides differ.
    branches = [
        s for s in query.find_all(exp.Select) if s.find(exp.Literal) and s.args.get("where")
    ]
    figures = {
        lit.this
        for s in branches
        for lit in s.expressions[0].find_all(exp.Literal)
        if lit.is_string
    }
    assert figures == set(FIGURES)
    assert "revision <= 1" in sql

"""Every statement the project sends Redshift keeps the rules of tests/warehouse/redshift_rules.py.

The statements, compiled offline for the Redshift target: every model and minute test as a
first build, an incremental pass and a full refresh; the on-run-start hooks and each model's
pre- and post-hooks; the run-operations (the streaming view's DDL and refresh, the close and its
adjustments, the audit export's UNLOADs); the replay and batch loads for each outcome; and the
SQL `accfb smoke` runs (ingestion/operations/smoke.py) and the gift trace's reads
(ingestion/operations/trace.py). Not covered: the statements dbt-redshift
itself writes around a model (its create-table-as, renames and merges) and the delete of the
delete_insert_by_hash materialization, which needs a model's configuration to render.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.replay.test_redshift_loads import _compile_for_redshift as _compile_inline
from tests.warehouse.redshift_rules import Statement, check, references
from tests.warehouse.test_redshift_compile import _compile_for_redshift

# A statement boundary in one --inline render (a comment, so a missing split would still parse).
_MARK = "\n-- accfb-rules: "
MANIFEST = "s3://accfb-raw/manifests/batch/abc.json"
SOURCE = "s3://accfb-raw/landing/crm/donors_2026-11-20.csv"
PREFIX = "s3://accfb-audit/finance/close_date=2026-11-20/revision=1"
BATCH_TABLES = ("lander.crm_donor_exports", "lander.processor_settlements")


def _compiled_models(root: Path, label: str) -> list[Statement]:
    compiled = root / "compiled" / "accfb"
    return [
        Statement(f"{label}/{path.relative_to(compiled).as_posix()}", path.read_text())
        for path in sorted(compiled.rglob("*.sql"))
    ]


def _operations() -> dict[str, str]:
    """Name -> Jinja for every statement outside the models and their hooks: the
    run-operations and the loads."""
    operations: dict[str, str] = {}
    for missing in ("reading_roles() | map(attribute=0) | list", "[]"):
        operations[f"analyst_access/{'create' if missing != '[]' else 'existing'}"] = (
            "{{ analyst_access_sql(" + missing + ") | join(';\n') }}"
        )
    for name in (
        "lander_schema()",
        "kinesis_external_schema_sql()",
        "stream_landing_view_sql()",
        "backfill_landing_table()",
        "batch_export_ledger_table()",
        "closed_days_table()",
        "close_day_sql('2026-11-20')",
        "close_adjustments_sql()",
        f"redshift_audit_export_sql('2026-11-20', 1, '{PREFIX}')",
        "audit_export_differences_sql('2026-11-20', 1)",
        f"redshift_archive_window_sql('{MANIFEST}', '2026-11-20T10:00:00+00:00',"
        " '2026-11-20T11:00:00+00:00')",
    ):
        operations[f"operation/{name.split('(')[0]}"] = "{{ " + name + " }}"
    operations["operation/refresh"] = "refresh materialized view lander.kinesis_records"
    for table in BATCH_TABLES:
        operations[f"load/{table}/known"] = (
            "{{ batch_export_known_sql('" + table + "', '" + SOURCE + "') }}"
        )
        for outcome in ("new", "corrected", "adopted"):
            operations[f"load/{table}/{outcome}"] = (
                "{{ redshift_csv_object_sql('"
                + "', '".join([table, MANIFEST, SOURCE, "etag-1", outcome])
                + "') }}"
            )
    return operations


def _model_hooks(manifest: Path) -> dict[str, str]:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return {
        f"hook/{node['name']}/{kind}/{number}": hook["sql"]
        for node in nodes
        if node["resource_type"] == "model"
        for kind in ("pre-hook", "post-hook")
        for number, hook in enumerate(node["config"][kind])
        if hook["sql"].strip()
    }


def _split(rendered: str) -> list[str]:
    """A render of several statements joined by ';' (the loads' scripts) into each of them."""
    return [s.strip() for s in rendered.split(";\n") if s.strip()]


def _render(target: Path, jinja: dict[str, str]) -> list[Statement]:
    names = list(jinja)
    # Rendered as in an incremental pass: the hooks' statements are what a minute sends, and
    # is_incremental() would otherwise ask the unreachable warehouse.
    rendered = _compile_inline(
        "".join(f"{_MARK}{n}\n{jinja[n]}" for n in names),
        target,
        "--vars",
        "{offline_is_incremental: true}",
    ).split(_MARK)[1:]
    statements = []
    for piece in rendered:
        name, _, sql = piece.partition("\n")
        statements += [
            Statement(name if i == 0 else f"{name}#{i}", s) for i, s in enumerate(_split(sql))
        ]
    return statements


@pytest.fixture(scope="module")
def statements(tmp_path_factory: pytest.TempPathFactory) -> list[Statement]:
    from ingestion.operations.smoke import smoke_statements
    from ingestion.operations.trace import trace_statements

    found: list[Statement] = []
    for label, args in (
        ("first-build", ("--vars", "{offline_is_incremental: false}")),
        ("incremental", ("--vars", "{offline_is_incremental: true}")),
        ("full-refresh", ("--full-refresh", "--vars", "{offline_is_incremental: true}")),
    ):
        target = tmp_path_factory.mktemp(label)
        _compile_for_redshift(target, *args)
        found += _compiled_models(target, label)
    jinja = {**_operations(), **_model_hooks(target / "manifest.json")}
    found += _render(tmp_path_factory.mktemp("operations"), jinja)
    found += [Statement(f"smoke/{name}", sql) for name, sql in smoke_statements().items()]
    found += [
        Statement(f"trace/{name}", sql.replace("%s", "'don-1'"))
        for name, sql in trace_statements().items()
    ]
    return found


def test_every_statement_is_one_of_each_kind_the_project_sends(
    statements: list[Statement],
) -> None:
    names = {s.name.split("/")[0] for s in statements}
    assert {"first-build", "incremental", "full-refresh", "hook"} <= names
    # dbt compiles the on-run-start hooks beside the models.
    assert any("/dbt_project.yml/hooks/" in s.name for s in statements)
    assert {"operation", "load", "analyst_access", "smoke", "trace"} <= names
    kinds = " ".join(s.sql.split(None, 1)[0].lower() for s in statements if s.sql.strip())
    for kind in ("create", "copy", "insert", "delete", "unload", "lock", "grant", "refresh"):
        assert kind in kinds.split(), kind


def test_every_statement_redshift_would_receive_keeps_its_documented_rules(
    statements: list[Statement],
) -> None:
    findings = check(statements)

    pages = references()
    assert not findings, "\n".join(f"{f}  [{pages.get(f.rule, 'a parser')}]" for f in findings)

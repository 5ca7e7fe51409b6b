"""Each rule of tests/warehouse/redshift_rules.py: an example it reports, and its fix it passes.

Both parsers accept every failing example below (each test asserts it): what the rule reports
is what only the AWS reference says.
"""

from __future__ import annotations

import pytest
import sqlglot

from tests.warehouse.redshift_rules import RULES, Statement, check_statement, references


def _rules(sql: str) -> set[str]:
    return {finding.rule for finding in check_statement(Statement("example", sql))}


def _parsers_accept(sql: str) -> None:
    """Neither parser objects: the rule, not a parse error, is what catches the example."""
    assert not _rules(sql) & {"sqlfluff-parse", "sqlglot-parse"}, _rules(sql)
    sqlglot.parse(sql, read="redshift")


EXAMPLES = [
    # (rule, refused, fixed)
    (
        "qualify-after-unaliased-from",
        "select * from candidates qualify row_number() over (partition by k order by t) = 1",
        "select * from candidates as candidates"
        " qualify row_number() over (partition by k order by t) = 1",
    ),
    (
        "qualify-after-unaliased-from",
        "select a.k from a cross join b qualify row_number() over (order by a.k) = 1",
        "select a.k from a cross join b as b qualify row_number() over (order by a.k) = 1",
    ),
    (
        "text-without-length",
        "create table lander.exports (name varchar, email text)",
        "create table lander.exports (name varchar(65535), email varchar(65535))",
    ),
    (
        "text-without-length",
        "select cast(donor_note as varchar) as note from staged",
        "select cast(donor_note as varchar(65535)) as note from staged",
    ),
    (
        "hash-of-unbounded-text",
        "select md5(cast(processor || '|' || processor_txn_id as text)) as settlement_id from s",
        "select md5(cast(processor || '|' || processor_txn_id as varchar(65535)))"
        " as settlement_id from s",
    ),
    (
        "unbounded-listagg",
        "select day, listagg(event_id, ',') within group (order by event_id) from e group by day",
        "select day, listagg(case when cause_rank <= 1000 then left(event_id, 64) end, ',')"
        " within group (order by event_id) from e group by day",
    ),
    (
        "unbounded-listagg",
        # Bounded, but not enough: 2,000 values of 64 bytes pass 65,535.
        "select day, listagg(case when cause_rank <= 2000 then left(event_id, 64) end, ',')"
        " within group (order by event_id) from e group by day",
        "select day, listagg(case when cause_rank <= 1000 then left(event_id, 64) end, ',')"
        " within group (order by event_id) from e group by day",
    ),
    (
        "row-number-without-order",
        "insert into t select x, row_number() over () as source_row_number from csv_batch",
        "insert into t select x, source_row_number from csv_batch",
    ),
    (
        "super-compared-as-text",
        "select a.event_id from a inner join b on a.event_id = b.event_id"
        " where coalesce((a.record.payload.amount_cents)::varchar(65535), '<missing>')"
        " <> coalesce((b.record.payload.amount_cents)::varchar(65535), '<missing>')",
        "select a.event_id from a inner join b on a.event_id = b.event_id"
        " where coalesce(json_serialize(a.record.payload.amount_cents), '<missing>')"
        " <> coalesce(json_serialize(b.record.payload.amount_cents), '<missing>')",
    ),
    (
        "function-outside-redshift",
        "select strlen(kinesis_data) as bytes, regexp_matches(x, '^a') from lander.records",
        "select octet_length(kinesis_data) as bytes, x ~ '^a' from lander.records",
    ),
]


@pytest.mark.parametrize(
    ("rule", "refused", "fixed"), EXAMPLES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(EXAMPLES)]
)
def test_a_rule_reports_what_redshift_refuses_and_passes_its_fix(
    rule: str, refused: str, fixed: str
) -> None:
    _parsers_accept(refused)

    assert rule in _rules(refused)
    assert _rules(fixed) == set()


def test_every_rule_has_a_failing_example_and_names_its_aws_page() -> None:
    pages = references()

    assert {rule for rule, _, _ in EXAMPLES} == set(pages)
    assert len(RULES) >= 6
    for page in pages.values():
        assert page.startswith("https://docs.aws.amazon.com/redshift/latest/dg/"), page


def test_qualify_after_a_where_or_an_alias_is_what_redshift_documents_as_fine() -> None:
    for sql in (
        "select * from c where k > 0 qualify row_number() over (order by k) = 1",
        "select * from c as c qualify row_number() over (order by k) = 1",
        "select c.k from c inner join d on c.k = d.k qualify row_number() over (order by c.k) = 1",
    ):
        assert _rules(sql) == set(), sql


def test_a_null_or_short_literal_cast_to_varchar_cuts_nothing() -> None:
    assert _rules("select cast(null as varchar) as refund_id, cast('x' as varchar) as y") == set()


def test_the_unloaded_query_is_read_as_a_statement_of_its_own() -> None:
    unload = (
        "unload ('select listagg(event_id, '','') from e')\n"
        "to 's3://audit/x' iam_role 'arn:aws:iam::1:role/r' format as parquet parallel off"
    )

    findings = check_statement(Statement("unload", unload))

    assert [(f.statement, f.rule) for f in findings] == [
        ("unload (unloaded query)", "unbounded-listagg")
    ]


def test_a_statement_neither_parser_reads_is_reported() -> None:
    assert {"sqlfluff-parse", "sqlglot-parse"} <= _rules("select from where (")


def test_only_a_udf_the_project_declares_is_a_function_redshift_has() -> None:
    declared = (
        "create or replace external function f_accfb_pii_hmac(varchar(max)) returns varchar(64)"
        " stable lambda 'accfb-pii-hmac' iam_role 'arn:aws:iam::1:role/r'"
    )

    assert _rules(declared) == set()
    assert _rules("select f_accfb_pii_hmac(email) as email_hash from crm") == set()
    assert _rules("select f_accfb_other(email) as x from crm") == {"function-outside-redshift"}

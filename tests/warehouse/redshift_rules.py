"""What Redshift would refuse or silently get wrong, read in the compiled SQL.

No Redshift is reachable here, and a parser accepts SQL that Redshift's documented restrictions
refuse or that would run with another meaning. So every compiled Redshift statement goes through
two parsers (sqlglot's Redshift dialect and sqlfluff's, which disagree on enough to be worth
both) and through the project's own rules below, each written from one page of the AWS SQL
reference. A rule errs towards strictness: what it cannot prove bounded, it reports, and the
SQL says its bound instead (a length, a limit, an ORDER BY, an alias).

Used by tests/warehouse/test_redshift_statements.py over the models (first build, incremental
and full refresh), their hooks, the run-operations, the loads, the audit UNLOAD and the
streaming view's DDL; tests/warehouse/test_redshift_rules.py holds each rule's failing example.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlglot
from sqlfluff.core import FluffConfig, Linter
from sqlglot import exp

_REFERENCE = "https://docs.aws.amazon.com/redshift/latest/dg/"

# Redshift's largest VARCHAR, in bytes, and so the largest LISTAGG result.
MAX_VARCHAR_BYTES = 65535
# What a text type without a length holds on Redshift (VARCHAR, TEXT, CHARACTER VARYING).
DEFAULT_VARCHAR_BYTES = 256


@dataclass(frozen=True)
class Statement:
    """One statement as Redshift would receive it, named after where it comes from."""

    name: str
    sql: str


@dataclass(frozen=True, order=True)
class Finding:
    statement: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.statement}: {self.rule}: {self.detail}"


@dataclass(frozen=True)
class Rule:
    code: str
    summary: str
    reference: str  # the AWS page the rule comes from
    check: Callable[[exp.Expression], Iterator[str]]


# --- what the rules read --------------------------------------------------------------------

_TEXT_TYPES = {
    exp.DataType.Type.VARCHAR,
    exp.DataType.Type.TEXT,
    exp.DataType.Type.NVARCHAR,
    exp.DataType.Type.CHAR,
    exp.DataType.Type.NCHAR,
}


def _bare_text(kind: exp.Expression | None) -> bool:
    """A text type without a length (VARCHAR(MAX) states one: 65,535 bytes)."""
    return (
        isinstance(kind, exp.DataType)
        and kind.this in _TEXT_TYPES
        and not kind.expressions
        and kind.this not in {exp.DataType.Type.CHAR, exp.DataType.Type.NCHAR}
    )


def _text_length(kind: exp.Expression | None) -> int | None:
    """The bytes a text type holds, or None when it is no text type."""
    if not isinstance(kind, exp.DataType) or kind.this not in _TEXT_TYPES:
        return None
    if not kind.expressions:
        return DEFAULT_VARCHAR_BYTES
    size = kind.expressions[0].this
    if isinstance(size, exp.Var) and size.name.lower() == "max":
        return MAX_VARCHAR_BYTES
    return int(size.name)


def _short_constant(node: exp.Expression) -> bool:
    """NULL or a literal that fits the default length: nothing a cast of it can cut."""
    return isinstance(node, exp.Null) or (
        isinstance(node, exp.Literal) and len(node.name.encode()) <= DEFAULT_VARCHAR_BYTES
    )


# The project's SUPER values: the streaming view's parsed `record` and paths into it, and the
# contract's `f_<path>` columns staging reads from it (macros/contract/).
def _reads_super(node: exp.Expression) -> bool:
    for column in node.find_all(exp.Column):
        parts = [p.name for p in column.parts]
        if "record" in parts or column.name.startswith("f_"):
            return True
    return any(dot.sql("redshift").startswith("record.") for dot in node.find_all(exp.Dot))


_HASHES = {"md5", "sha", "sha1", "sha2", "func_sha1", "fnv_hash", "crc32", "checksum"}


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower() if isinstance(node, exp.Func) else ""


def _hash_calls(tree: exp.Expression) -> Iterator[exp.Expression]:
    for node in tree.find_all(exp.Func):
        if _function_name(node) in _HASHES or isinstance(
            node, exp.MD5 | exp.SHA | exp.SHA2 | exp.MD5Digest
        ):
            yield node


def _inside_hash(node: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None:
        if _function_name(parent) in _HASHES or isinstance(
            parent, exp.MD5 | exp.SHA | exp.SHA2 | exp.MD5Digest
        ):
            return True
        parent = parent.parent
    return False


def _sql(node: exp.Expression, dialect: str = "") -> str:
    text = " ".join(node.sql(dialect).split())
    return text if len(text) <= 120 else text[:117] + "..."


# --- the rules ------------------------------------------------------------------------------


def _qualify_after_unaliased_from(tree: exp.Expression) -> Iterator[str]:
    # Redshift does not reserve QUALIFY: directly after an unaliased relation it is read as the
    # relation's alias, and the predicate after it is a syntax error (dbt-core #10424).
    for select in tree.find_all(exp.Select):
        if select.args.get("qualify") is None:
            continue
        if any(select.args.get(k) is not None for k in ("where", "group", "having")):
            continue
        joins = select.args.get("joins") or []
        last = joins[-1] if joins else select.args.get("from_")
        if last is None:
            continue
        if joins and (last.args.get("on") is not None or last.args.get("using")):
            continue
        relation = last.this
        if not relation.alias:
            yield f"`qualify` directly after `{_sql(relation)}`, which has no alias"


def _text_without_length(tree: exp.Expression) -> Iterator[str]:
    for column in tree.find_all(exp.ColumnDef):
        if _bare_text(column.args.get("kind")):
            yield f"column {column.name} is `{_sql(column.args['kind'])}`: 256 bytes"
    for cast in tree.find_all(exp.Cast):
        if _bare_text(cast.to) and not _short_constant(cast.this) and not _inside_hash(cast):
            yield f"`{_sql(cast)}` cuts at 256 bytes"


def _hash_of_unbounded_text(tree: exp.Expression) -> Iterator[str]:
    # dbt.hash() casts its input to TEXT, which Redshift makes VARCHAR(256): keys longer than
    # that are cut before hashing, and two keys sharing their first 256 bytes collide.
    for call in _hash_calls(tree):
        for cast in call.find_all(exp.Cast):
            length = _text_length(cast.to)
            if length is not None and length < MAX_VARCHAR_BYTES:
                yield f"`{_sql(call)}` hashes text cut to {length} bytes"


def _bounded_listagg_input(value: exp.Expression) -> tuple[int, int] | None:
    """(rows, bytes per row) when a LISTAGG's value is
    ``case when <rank> <= N then <text of at most L bytes> end``: nulls are skipped, so at most
    N values of at most L bytes are joined."""
    if not isinstance(value, exp.Case) or value.args.get("default") is not None:
        return None
    ifs = value.args.get("ifs") or []
    if len(ifs) != 1:
        return None
    condition, result = ifs[0].this, ifs[0].args.get("true")
    if not isinstance(condition, exp.LTE) or not isinstance(condition.expression, exp.Literal):
        return None
    rows = int(condition.expression.name)
    width: int | None = None
    if isinstance(result, exp.Left) and isinstance(result.expression, exp.Literal):
        width = int(result.expression.name)
    elif isinstance(result, exp.Cast):
        width = _text_length(result.to)
    elif isinstance(result, exp.Substring) and isinstance(result.args.get("length"), exp.Literal):
        width = int(result.args["length"].name)
    return None if width is None else (rows, width)


def _unbounded_listagg(tree: exp.Expression) -> Iterator[str]:
    for agg in tree.find_all(exp.GroupConcat):  # sqlglot's name for LISTAGG
        value = agg.this.this if isinstance(agg.this, exp.Order) else agg.this
        separator = agg.args.get("separator")
        gap = len(separator.name.encode()) if isinstance(separator, exp.Literal) else 0
        bound = _bounded_listagg_input(value)
        if bound is None:
            yield f"`{_sql(agg, 'redshift')}` joins any number of values: fails past 65,535 bytes"
            continue
        rows, width = bound
        if rows * (width + gap) > MAX_VARCHAR_BYTES:
            yield f"`{_sql(agg, 'redshift')}` may join {rows} values of {width} bytes: past 65,535"


_ORDERED_WINDOW_FUNCTIONS = (
    exp.RowNumber,
    exp.Rank,
    exp.DenseRank,
    exp.Lag,
    exp.Lead,
    exp.FirstValue,
    exp.LastValue,
    exp.NthValue,
    exp.Ntile,
)


def _row_number_without_order(tree: exp.Expression) -> Iterator[str]:
    for window in tree.find_all(exp.Window):
        if isinstance(window.this, _ORDERED_WINDOW_FUNCTIONS) and window.args.get("order") is None:
            yield f"`{_sql(window)}` numbers rows in no defined order"


_COMPARISONS = (exp.EQ, exp.NEQ, exp.NullSafeEQ, exp.NullSafeNEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def _super_as_text(node: exp.Expression) -> bool:
    return any(
        _text_length(cast.to) is not None and _reads_super(cast.this)
        for cast in node.find_all(exp.Cast)
    )


def _super_compared_as_text(tree: exp.Expression) -> Iterator[str]:
    # A SUPER number or boolean cast to VARCHAR is NULL: two such values compare as equal (or
    # unknown) whatever they hold. Compare JSON_SERIALIZE's text, or the typed values.
    for comparison in tree.find_all(*_COMPARISONS):
        if _super_as_text(comparison.this) and _super_as_text(comparison.expression):
            yield f"`{_sql(comparison)}` compares SUPER values through a VARCHAR cast"


RULES: tuple[Rule, ...] = (
    Rule(
        "qualify-after-unaliased-from",
        "QUALIFY directly after FROM needs the relation to have an alias",
        _REFERENCE + "r_QUALIFY_clause.html",
        _qualify_after_unaliased_from,
    ),
    Rule(
        "text-without-length",
        "VARCHAR or TEXT without a length holds 256 bytes",
        _REFERENCE + "r_Character_types.html",
        _text_without_length,
    ),
    Rule(
        "hash-of-unbounded-text",
        "a hash of text cast to a bounded VARCHAR hashes only its first bytes",
        _REFERENCE + "r_Character_types.html",
        _hash_of_unbounded_text,
    ),
    Rule(
        "unbounded-listagg",
        "LISTAGG fails once its result passes 65,535 bytes",
        _REFERENCE + "r_LISTAGG.html",
        _unbounded_listagg,
    ),
    Rule(
        "row-number-without-order",
        "ROW_NUMBER and other ordered window functions without ORDER BY have no defined order",
        _REFERENCE + "r_WF_ROW_NUMBER.html",
        _row_number_without_order,
    ),
    Rule(
        "super-compared-as-text",
        "a SUPER value that is not a string casts to VARCHAR as NULL",
        _REFERENCE + "r_CAST_function.html",
        _super_compared_as_text,
    ),
)

FUNCTIONS_REFERENCE = _REFERENCE + "c_SQL_functions.html"

# The functions of Redshift's SQL reference (c_SQL_functions.html) this project may call: the
# families it uses, whole. A name outside it is a function Redshift does not have (DuckDB's
# strlen, regexp_matches, json_extract_string, list_*, epoch, quantile_cont, now, ...).
REDSHIFT_FUNCTIONS = frozenset(
    {
        # aggregate
        "any_value", "approximate", "avg", "bit_and", "bit_or", "bool_and", "bool_or", "count",
        "listagg", "max", "median", "min", "percentile_cont", "percentile_disc", "stddev",
        "stddev_pop", "stddev_samp", "sum", "var_pop", "var_samp", "variance",
        # window
        "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
        "ntile", "percent_rank", "rank", "ratio_to_report", "row_number",
        # conditional
        "coalesce", "decode", "greatest", "least", "nullif", "nvl", "nvl2",
        # date and time
        "add_months", "convert_timezone", "current_date", "date_cmp", "date_cmp_timestamp",
        "date_cmp_timestamptz", "date_part", "date_part_year", "date_trunc", "dateadd",
        "datediff", "extract", "getdate", "interval_cmp", "last_day", "months_between",
        "next_day", "sysdate", "timeofday", "timestamp_cmp", "timestamp_cmp_date",
        "timestamp_cmp_timestamptz", "timestamptz_cmp", "timezone", "to_char", "to_date",
        "to_timestamp", "trunc",
        # math
        "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "ceiling", "cos", "cot",
        "degrees", "dexp", "dlog1", "dlog10", "exp", "floor", "ln", "log", "mod", "pi", "power",
        "radians", "random", "round", "sign", "sin", "sqrt", "tan",
        # string
        "ascii", "bpcharcmp", "btrim", "bttext_pattern_cmp", "char_length", "character_length",
        "charindex", "chr", "collate", "concat", "crc32", "difference", "initcap", "left", "len",
        "length", "lower", "lpad", "ltrim", "octet_length", "octetindex", "position",
        "quote_ident", "quote_literal", "regexp_count", "regexp_instr", "regexp_replace",
        "regexp_substr", "repeat", "replace", "replicate", "reverse", "right", "rpad", "rtrim",
        "soundex", "split_part", "strpos", "strtol", "substr", "substring", "textlen",
        "translate", "trim", "upper",
        # hash
        "checksum", "farmfingerprint64", "fnv_hash", "func_sha1", "md5", "sha", "sha1", "sha2",
        # JSON and SUPER
        "array", "array_concat", "array_flatten", "can_json_parse", "get_array_length",
        "is_array", "is_bigint", "is_boolean", "is_char", "is_decimal", "is_float",
        "is_integer", "is_object", "is_scalar", "is_smallint", "is_valid_json",
        "is_valid_json_array", "is_varchar", "json_array_length",
        "json_extract_array_element_text", "json_extract_path_text", "json_parse",
        "json_serialize", "json_serialize_to_varbyte", "json_typeof", "object",
        "object_transform", "size", "split_to_array", "subarray",
        # VARBYTE
        "from_hex", "from_varbyte", "getbit", "to_hex", "to_varbyte",
        # type conversion
        "cast", "convert", "text_to_int_alt", "text_to_numeric_alt", "to_number",
        # system information
        "current_database", "current_schema", "current_user", "pg_backend_pid",
        "pg_last_copy_count", "pg_last_copy_id", "pg_last_query_id", "session_user", "user",
    }
)  # fmt: skip


# Lambda UDFs the project declares itself (`create external function`, on-run-start): named with
# the f_ prefix, which Redshift reserves for user-defined functions (udf-naming-udfs.html), so
# they never shadow a built-in. Read from the macros, so a call to an undeclared one is flagged.
_DECLARED_UDF = re.compile(r"create\s+or\s+replace\s+external\s+function\s+(f_\w+)", re.I)
PROJECT_FUNCTIONS = frozenset(
    match.lower()
    for path in (Path(__file__).resolve().parents[2] / "macros").rglob("*.sql")
    for match in _DECLARED_UDF.findall(path.read_text())
)


# --- running the check ----------------------------------------------------------------------


@cache
def _fluff() -> Linter:
    return Linter(config=FluffConfig(overrides={"dialect": "redshift"}))


def _sqlfluff_findings(statement: Statement) -> Iterator[Finding]:
    parsed = _fluff().parse_string(statement.sql)
    for violation in parsed.violations:
        yield Finding(statement.name, "sqlfluff-parse", str(violation.desc())[:160])
    tree = parsed.parsed_variants[0].tree if parsed.parsed_variants else None
    if tree is None:
        return
    for segment in tree.recursive_crawl("function_name"):
        name = segment.raw.lower().rsplit(".", 1)[-1].strip('"')
        if name not in REDSHIFT_FUNCTIONS and name not in PROJECT_FUNCTIONS:
            yield Finding(
                statement.name,
                "function-outside-redshift",
                f"{name}() is not in Redshift's SQL functions reference",
            )


# UNLOAD's query is a string literal, which the parsers read as text: the rules read it as a
# statement of its own.
_UNLOAD = re.compile(r"^\s*unload\s*\(\s*'((?:[^']|'')*)'\s*\)", re.IGNORECASE)


def check_statement(statement: Statement) -> list[Finding]:
    unload = _UNLOAD.match(statement.sql)
    if unload is not None:
        query = Statement(f"{statement.name} (unloaded query)", unload[1].replace("''", "'"))
        return sorted({*_sqlfluff_findings(statement), *check_statement(query)})
    findings = list(_sqlfluff_findings(statement))
    if _DECLARED_UDF.match(statement.sql.strip()):
        # sqlglot has no grammar for CREATE EXTERNAL FUNCTION (sqlfluff's Redshift dialect has),
        # and none of the rules below is about a function's declaration.
        return sorted(set(findings))
    try:
        trees = [t for t in sqlglot.parse(statement.sql, read="redshift") if t is not None]
    except sqlglot.errors.ParseError as error:
        return [*findings, Finding(statement.name, "sqlglot-parse", str(error).splitlines()[0])]
    for tree in trees:
        for rule in RULES:
            findings += [Finding(statement.name, rule.code, d) for d in rule.check(tree)]
    return sorted(set(findings))


def check(statements: Iterable[Statement]) -> list[Finding]:
    """Every finding of every statement; identical statements are read once."""
    seen: dict[str, list[Finding]] = {}
    findings: list[Finding] = []
    for statement in statements:
        if statement.sql not in seen:
            seen[statement.sql] = check_statement(Statement("", statement.sql))
        findings += [
            Finding(statement.name + f.statement, f.rule, f.detail) for f in seen[statement.sql]
        ]
    return sorted(findings)


def references() -> dict[str, str]:
    """Each rule's AWS reference page, by its code."""
    return {
        **{rule.code: rule.reference for rule in RULES},
        "function-outside-redshift": FUNCTIONS_REFERENCE,
    }

"""`accfb smoke`: the first minute on a real workgroup, proven end to end and cleaned up.

Run once after `cdk deploy` (docs/operating-manual.md), before the sources are connected. With
the deployed settings and the session's AWS credentials it puts a small generated corpus of
clean events on the real stream, refreshes the streaming view, builds the minute's selection
into scratch schemas (`<scratch>_staging`, `<scratch>_marts`, ...: never `marts`; the
`scratch_schema` var of macros/generate_schema_name.sql, whose processed-batch marks are kept
apart from the real models' by macros/batch_cursor.sql), reconciles the corpus's gifts against
the scratch `fct_donations` (each once, cents equal), verifies the marts' Soda contracts on the
scratch schemas, and drops them, whatever failed. The events stay on the stream and in the
streaming view (the view keeps what the stream holds): the next real minute lands them too
(docs/operating-manual.md says when to run it).

Its SQL is checked with every other Redshift statement (tests/warehouse/redshift_rules.py).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingestion.config.settings import Environment, Settings

# The folder schemas a build writes (dbt_project.yml), each made `<scratch>_<schema>`.
SCRATCH_SCHEMAS = ("landing", "staging", "intermediate", "marts", "ops", "seeds", "snapshots")
# About this many events: enough for every mart to hold rows, small enough to cost nothing.
CORPUS_SECONDS = 20.0
CORPUS_PROFILE = "normal"


class SmokeRefused(RuntimeError):
    """The settings are not a deployment's: nothing was sent or built."""


@dataclass(frozen=True)
class SmokeStep:
    name: str
    passed: bool
    detail: str


@dataclass
class SmokeReport:
    scratch: str
    steps: list[SmokeStep] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.steps)


def refusal(settings: Settings, credentials: Callable[[], object | None]) -> str | None:
    """Why the smoke cannot run with these settings, in one line, or None."""
    if settings.environment is Environment.LOCAL or settings.aws_endpoint_url is not None:
        return (
            f"refused: these are the local settings (ACCFB_ENVIRONMENT="
            f"{settings.environment.value}), and it runs only against a deployed workgroup: "
            "export the deployment's ACCFB_* settings and AWS credentials first "
            "(docs/operating-manual.md)"
        )
    if credentials() is None:
        return (
            f"refused: this session has no AWS credentials for {settings.environment.value}: "
            "log in (aws sso login, or the deployment role's profile) and run it again"
        )
    return None


def scratch_name(now: datetime) -> str:
    return "smoke_" + now.strftime("%Y%m%d%H%M%S")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def reconcile_sql(scratch: str, donation_ids: Sequence[str]) -> str:
    """The corpus's gifts in the scratch fct_donations: rows, distinct gifts, gross cents."""
    listed = ", ".join(_sql_text(i) for i in donation_ids) or "''"
    # S608: the schema is scratch_name()'s and every id a quoted literal.
    return (
        "select count(*) as gift_rows, count(distinct donation_id) as gifts, "  # noqa: S608
        "coalesce(sum(gross_amount_cents), 0) as gross_amount_cents "
        f"from {scratch}_marts.fct_donations "
        f"where donation_id in ({listed})"
    )


def cleanup_statements(scratch: str) -> list[str]:
    """What the smoke leaves behind, dropped: its schemas and its processed-batch marks."""
    return [
        *(f"drop schema if exists {scratch}_{schema} cascade" for schema in SCRATCH_SCHEMAS),
        # S608: a quoted literal of scratch_name()'s.
        f"delete from lander.processed_batches where model like {_sql_text(scratch + ':%')}",  # noqa: S608
    ]


def smoke_statements() -> dict[str, str]:
    """Every statement the smoke sends itself, for the Redshift rules check."""
    scratch = scratch_name(datetime(2026, 12, 1, tzinfo=UTC))
    statements = {"reconcile": reconcile_sql(scratch, ["d-1", "d-2"])}
    for number, sql in enumerate(cleanup_statements(scratch)):
        statements[f"cleanup/{number}"] = sql
    return statements


def scratch_contract(text: str, scratch: str) -> str:
    """A contract's dataset moved from its schema to the scratch one (`accfb/marts/x` ->
    `accfb/<scratch>_marts/x`)."""
    from ingestion.operations.checks import DATA_SOURCE

    prefix = f"dataset: {DATA_SOURCE}/"
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith(prefix):
            line = prefix + f"{scratch}_" + line.removeprefix(prefix)
        lines.append(line)
    return "".join(lines)


@dataclass(frozen=True)
class _Corpus:
    records: list[tuple[bytes, str]]
    donations: dict[str, int]  # donation_id -> amount_cents of the valid gifts


def _corpus(now: datetime) -> _Corpus:
    from ingestion.contract.validation import validate_record
    from ingestion.demo.simulator import Simulator, steady
    from ingestion.demo.simulator.faults import FaultRates

    simulator = Simulator(seed=int(now.timestamp()), start=now, faults=FaultRates.none())
    records: list[tuple[bytes, str]] = []
    donations: dict[str, int] = {}
    for record in simulator.generate(steady(CORPUS_PROFILE, CORPUS_SECONDS)):
        records.append((record.data, record.partition_key))
        event: dict[str, Any] = json.loads(record.data)
        if event.get("event_type") == "donation.completed" and not validate_record(record.data):
            payload = event["payload"]
            donations[payload["donation_id"]] = int(payload["amount_cents"])
    return _Corpus(records, donations)


class _Steps:
    """Each step's outcome; a step that raises fails with its first line, and stops the run."""

    def __init__(self, report: SmokeReport) -> None:
        self.report = report

    def run(self, name: str, step: Callable[[], tuple[bool, str]]) -> bool:
        try:
            passed, detail = step()
        except Exception as error:  # noqa: BLE001 (every failure is reported as the step's)
            passed, detail = False, (str(error).splitlines() or [type(error).__name__])[0]
        self.report.steps.append(SmokeStep(name, passed, detail))
        return passed


def _execute(settings: Settings, statements: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    from ingestion.serving.source import _redshift_connection

    connection = _redshift_connection(settings)
    try:
        cursor = connection.cursor()
        for sql in statements:
            cursor.execute(sql)
            if cursor.description:
                yield from cursor.fetchall()
        connection.commit()
    finally:
        connection.close()


def run_smoke(settings: Settings, now: datetime | None = None) -> SmokeReport:
    """The whole smoke; the scratch schemas are dropped whatever happened before."""
    import boto3

    why = refusal(settings, boto3.Session(region_name=settings.aws_region).get_credentials)
    if why is not None:
        raise SmokeRefused(why)
    now = now or datetime.now(UTC)
    report = SmokeReport(scratch_name(now))
    steps = _Steps(report)
    try:
        _run(settings, steps, report.scratch, now)
    finally:
        steps.run("drop the scratch schemas", lambda: _drop(settings, report.scratch))
    return report


def _run(settings: Settings, steps: _Steps, scratch: str, now: datetime) -> None:
    from ingestion.config import aws, dbt
    from ingestion.operations.checks import contract_paths, run_checks
    from ingestion.produce.producer import KinesisProducer

    corpus = _corpus(now)

    def publish() -> tuple[bool, str]:
        with KinesisProducer(aws.client("kinesis", settings), settings.stream_name) as producer:
            producer.put_many(corpus.records)
            sent = producer.flush()
        return sent.failed_count == 0, (
            f"{sent.accepted:,} of {len(corpus.records):,} records accepted by "
            f"{settings.stream_name}"
        )

    def refresh() -> tuple[bool, str]:
        dbt.run_dbt(settings, ["run-operation", "refresh_stream_landing"])
        return True, "lander.kinesis_records refreshed"

    def build() -> tuple[bool, str]:
        built = dbt.run_dbt(
            settings,
            [
                "build",
                "--select",
                "@stream_events",
                "--vars",
                json.dumps({"scratch_schema": scratch}),
            ],
        )
        return True, f"{built.nodes} nodes built and tested into {scratch}_*"

    def reconcile() -> tuple[bool, str]:
        ((rows, gifts, cents),) = _execute(
            settings, [reconcile_sql(scratch, sorted(corpus.donations))]
        )
        sent_cents = sum(corpus.donations.values())
        ok = rows == gifts == len(corpus.donations) and cents == sent_cents
        return ok, (
            f"{gifts:,} of {len(corpus.donations):,} gifts once each ({rows:,} rows), "
            f"{cents:,} of {sent_cents:,} cents"
        )

    def contracts() -> tuple[bool, str]:
        with tempfile.TemporaryDirectory(prefix="accfb-smoke-") as folder:
            paths = []
            for path in contract_paths():
                copy = Path(folder) / path.name
                copy.write_text(scratch_contract(path.read_text("utf-8"), scratch), "utf-8")
                paths.append(copy)
            checked = run_checks(settings, paths)
        failed = [f"{f.contract}: {f.check}" for f in checked.failures]
        return not failed, "; ".join(failed[:3]) or f"{len(checked.contracts)} contracts pass"

    for name, step in (
        ("put the corpus on the stream", publish),
        ("refresh the streaming view", refresh),
        ("build the minute into the scratch schemas", build),
        ("reconcile the corpus's gifts", reconcile),
        ("verify the contracts", contracts),
    ):
        if not steps.run(name, step):
            return


def _drop(settings: Settings, scratch: str) -> tuple[bool, str]:
    list(_execute(settings, cleanup_statements(scratch)))
    return True, f"{scratch}_* dropped"

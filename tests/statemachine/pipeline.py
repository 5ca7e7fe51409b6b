"""One pipeline under test and its from-scratch twin: send, load, refresh, compare.

`Pipeline` drives the real paths: events go through the producer, moto's Kinesis and the
lander (`StreamLander.land_once`); exports are dropped in the bucket and loaded by
`load_batches` as `accfb load-batch` does; a replay archives the stream with the archiver and
loads a window with `accfb replay`'s own load; models build with dbt in process.

`full_build_differences` copies the landing tables (what arrived, nothing a model wrote) into a
new DuckDB file, builds every model there from nothing, and compares the two warehouses. The
full build is a function of the landing tables alone (the compared columns read no clock), so
a step that landed nothing (a full refresh of one model, a close) is compared with the full
build of the same landing tables made at an earlier step.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.archive.archiver import StreamArchiver
from ingestion.batch.loads import load_batches
from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.landing import state as landing_state
from ingestion.landing.lander import StreamLander
from ingestion.local import localaws
from ingestion.produce.publish import publish_records
from ingestion.replay.loads import load_window
from ingestion.replay.window import Window

# What arrived: the landing tables the lander, the batch loads and replays write. Everything
# else in the warehouse is written by models (or by their bookkeeping) and is rebuilt.
LANDING_TABLES = (
    "kinesis_records",
    "shard_positions",
    "backfill_records",
    "crm_donor_exports",
    "processor_settlements",
    "batch_export_ledger",
)

# Columns that say when or in which pass a row was written, not what it says: load and batch
# numbers (a full build lands everything as batch 1 and numbers its passes from 1) and load
# times. They are the models' cursors; a full build cannot reproduce them by construction.
BOOKKEEPING = frozenset(
    {
        "first_loaded_at",
        "last_landed_at",
        "landed_at",
        "landed_batch",
        "computed_batch",
        "export_load_seq",
        "donation_batch",
        "settlement_load_seq",
        "reconciled_pass",
        "ledger_batch",
        "latest_load_seq",
        "load_seq",
        "loaded_at",
        # The gift a pass's winning refund copy moved the refund off: that pass's record of
        # the change for fct_donations to re-read; a build from nothing moves nothing.
        "superseded_donation_id",
    }
)

# Relations compared: every public mart and every int_ model. marts.rpt_closed_days is the
# record of what was signed and when (macros/finance/close.sql): by design a history of closes,
# not a function of the inputs, so no full build reproduces it.
NOT_COMPARED = frozenset({"rpt_closed_days"})
# Parts per landing batch: a full build has one part per group, the increments one per batch
# that touched it. What they hold is their sum per group (an emptied part sums to nothing).
SUMMED_PARTS = {
    "int_ledger_daily": (
        "entry_date",
        "sum(gross_amount_cents), sum(refunded_amount_cents), sum(fee_cents), "
        "sum(gift_count), sum(refund_count), sum(entry_count)",
        "sum(entry_count)",
    ),
    "int_campaign_daily_batches": (
        "campaign_id, donated_date",
        "sum(gift_count), sum(gross_amount_cents), sum(net_amount_cents), max(last_donated_at)",
        "sum(gift_count)",
    ),
}
NO_TESTS = ["--exclude", "resource_type:test"]
FULL_BUILD = ["build", "--select", "@stream_events", *NO_TESTS, "--full-refresh"]

Rows = list[tuple[Any, ...]]


@dataclass
class Pipeline:
    settings: Settings
    full_builds: int = 0
    sent: int = field(default=0)
    # The landing tables the last full build was made from, and what it held.
    _built_from: str | None = field(default=None, repr=False)
    _full_build: dict[str, Rows] = field(default_factory=dict, repr=False)

    @classmethod
    def provision(cls, settings: Settings) -> Pipeline:
        localaws.provision(settings)
        return cls(settings)

    def send(self, records: list[bytes]) -> None:
        """Records on the stream, then landed: the producer's and the lander's own paths."""
        if records:
            report = publish_records(self.settings, ((r, partition_key(r)) for r in records))
            assert report.ok, report.failed[:3]
        StreamLander(self.settings, aws.client("kinesis", self.settings)).land_once()
        self.sent += len(records)

    def drop(self, key: str, text: str) -> None:
        aws.client("s3", self.settings).put_object(
            Bucket=self.settings.raw_bucket, Key=key, Body=text.encode()
        )

    def load(self, source: str) -> None:
        (report,) = load_batches(self.settings, [source])
        assert not report.refused, report.refused

    def replay_everything(self) -> None:
        """Archive what the stream holds, then replay an hour around now into the backfill."""
        StreamArchiver(
            self.settings,
            aws.client("kinesis", self.settings),
            aws.client("s3", self.settings),
        ).archive_once()
        now = datetime.now(UTC)
        load_window(self.settings, Window(now - timedelta(hours=1), now + timedelta(minutes=5)))

    def refresh(self, args: list[str] | None = None) -> None:
        """dbt with `args`, or the minute's refresh: the selection `build_streaming_models`
        makes (only what the stream feeds when nothing but the stream landed), without its
        tests, and never skipped: a step that landed nothing may have changed a model."""
        if args:
            dbt.run_dbt(self.settings, args)
            return
        current = landing_state.fingerprint(self.settings)
        selection = dbt.streaming_selection(self.settings, current)
        dbt.run_dbt(self.settings, ["build", "--select", selection, *NO_TESTS])
        landing_state.record_build(self.settings, current)

    def compared(self, settings: Settings | None = None) -> dict[str, Rows]:
        return _compared_relations(settings or self.settings)

    def full_build_differences(self) -> dict[str, tuple[Rows, Rows]]:
        """{relation: (rows only here, rows only in a full build)} for each that differs."""
        landing = _landing_digest(self.settings.warehouse_path)
        if landing != self._built_from:
            self._full_build, self._built_from = self._build_from_nothing(), landing
        mine, full = self.compared(), self._full_build
        differences = {}
        for name in sorted(mine.keys() | full.keys()):
            here, there = mine.get(name, []), full.get(name, [])
            if here != there:
                only_here = [r for r in here if r not in there]
                only_there = [r for r in there if r not in here]
                differences[name] = (only_here, only_there)
        return differences

    def _build_from_nothing(self) -> dict[str, Rows]:
        self.full_builds += 1
        # Its own dbt state, and a file of the same name in another folder: dbt-duckdb names the
        # database after the file, so the twin reuses the parsed project (dbt.parsed_once).
        warehouse_path = self.settings.warehouse_path
        twin = self.settings.model_copy(
            update={
                "warehouse_path": warehouse_path.parent / "full-build" / warehouse_path.name,
                "state_dir": self.settings.state_dir / "full-build",
            }
        )
        _copy_landing(self.settings.warehouse_path, twin.warehouse_path)
        dbt.run_dbt(twin, FULL_BUILD)
        full = self.compared(twin)
        twin.warehouse_path.unlink()
        return full


def _landing_digest(warehouse_path: Path) -> str:
    """What the landing tables hold, row by row: equal digests, equal full builds."""
    digest = hashlib.sha256()
    with warehouse.connect(warehouse_path) as con:
        for table in _present_landing(con):
            digest.update(table.encode())
            for row in con.execute(f"select * from lander.{table} order by all").fetchall():
                digest.update(repr(row).encode())
    return digest.hexdigest()


def _present_landing(con: Any) -> list[str]:
    present = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'lander' and table_catalog = current_database()"
        ).fetchall()
    }
    return [table for table in LANDING_TABLES if table in present]


def _copy_landing(source: Path, target: Path) -> None:
    # Attached from the source's side: dbt, in this process, may hold the source file open.
    target.unlink(missing_ok=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.connect(source) as con:
        present = _present_landing(con)
        con.execute(f"attach '{target}' as twin")
        try:
            con.execute("create schema twin.lander")
            for table in present:
                con.execute(f"create table twin.lander.{table} as select * from lander.{table}")
        finally:
            con.execute("detach twin")


def _compared_relations(settings: Settings) -> dict[str, Rows]:
    with warehouse.connect(settings.warehouse_path) as con:
        relations = [
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where (table_schema = 'marts' or table_name like 'int\\_%' escape '\\') "
                "order by all"
            ).fetchall()
            if name not in NOT_COMPARED
        ]
        compared: dict[str, Rows] = {}
        for schema, name in relations:
            if name in SUMMED_PARTS:
                keys, sums, count = SUMMED_PARTS[name]
                compared[name] = con.execute(
                    f"select {keys}, {sums} from {schema}.{name} group by {keys} "
                    f"having {count} > 0 order by all"
                ).fetchall()
                continue
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
                if column not in BOOKKEEPING
            ]
            listed = ", ".join(f'"{c}"' for c in columns)
            compared[name] = con.execute(
                f"select {listed} from {schema}.{name} order by all"
            ).fetchall()
    return compared

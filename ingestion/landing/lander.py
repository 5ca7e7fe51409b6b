"""Local stand-in for Redshift's streaming materialized view over Kinesis.

It reads every shard from the last landed sequence number and appends the records, untouched,
to ``lander.kinesis_records`` with the view's columns. Each shard's position is a row of
``lander.shard_positions``, written in the same transaction as the records and read inside it,
so a crash anywhere re-reads from exactly the last committed record, and a second lander on
the same warehouse (or a stale one) writes only what is past the committed position: nothing
lost, nothing twice. Positions belong to one stream, named by its ARN and creation time: a
stream recreated under the same name numbers its records afresh, so landing from it into a
warehouse that holds the old stream's positions is refused with a clear message.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from ingestion.config import warehouse
from ingestion.config.settings import Settings
from ingestion.kinesis.shards import ShardReader

log = logging.getLogger(__name__)

LANDING_TABLE = "lander.kinesis_records"
POSITIONS_TABLE = "lander.shard_positions"

# Sequence numbers are decimal strings of up to 128 bits; padding makes string order numeric.
_SEQUENCE_WIDTH = 64

_DDL = f"""
create schema if not exists lander;
create table if not exists {LANDING_TABLE} (
    approximate_arrival_timestamp timestamptz not null,
    partition_key varchar not null,
    shard_id varchar not null,
    sequence_number varchar not null,
    refresh_time timestamptz not null,
    kinesis_data varchar not null
);
create table if not exists {POSITIONS_TABLE} (
    stream_arn varchar not null,
    stream_created_at timestamptz not null,
    shard_id varchar not null,
    sequence_number varchar not null,
    primary key (stream_arn, stream_created_at, shard_id)
);
alter table {POSITIONS_TABLE} add column if not exists refresh_time timestamptz;
"""

_ARROW_SCHEMA = pa.schema(
    [
        ("approximate_arrival_timestamp", pa.timestamp("us", tz="UTC")),
        ("partition_key", pa.string()),
        ("shard_id", pa.string()),
        ("sequence_number", pa.string()),
        ("kinesis_data", pa.string()),
    ]
)


def ensure_landing_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


class StreamMismatch(RuntimeError):
    """The warehouse holds positions of another stream than the one being read."""


@dataclass(frozen=True)
class StreamIdentity:
    arn: str
    created_at: datetime

    @classmethod
    def of(cls, kinesis: Any, stream_name: str) -> StreamIdentity:
        summary = kinesis.describe_stream_summary(StreamName=stream_name)[
            "StreamDescriptionSummary"
        ]
        return cls(summary["StreamARN"], summary["StreamCreationTimestamp"].astimezone(UTC))


def landed_positions(con: duckdb.DuckDBPyConnection, stream: StreamIdentity) -> dict[str, str]:
    """Where reading resumes, per shard, for ``stream``; refused if the positions are another's."""
    others = con.execute(
        f"select distinct stream_arn, stream_created_at from {POSITIONS_TABLE} "  # noqa: S608 - identifiers are module constants
        "where not (stream_arn = $arn and stream_created_at = $created)",
        {"arn": stream.arn, "created": stream.created_at},
    ).fetchall()
    if others:
        arn, created = others[0]
        raise StreamMismatch(
            f"the warehouse holds positions of stream {arn} created {created.isoformat()}, but "
            f"{stream.arn} was created {stream.created_at.isoformat()}: the stream was recreated "
            "(after `accfb down` / `accfb up`?) and numbers its records afresh, so resuming "
            "would skip records. Land into a new warehouse (ACCFB_WAREHOUSE_PATH), or replay "
            "the old stream's archive into a fresh one."
        )
    rows = con.execute(
        f"select shard_id, sequence_number from {POSITIONS_TABLE} "  # noqa: S608 - identifiers are module constants
        "where stream_arn = $arn and stream_created_at = $created",
        {"arn": stream.arn, "created": stream.created_at},
    ).fetchall()
    if rows:
        return {shard: seq for shard, seq in rows}
    # A warehouse landed before positions had their own table: its records are its positions.
    legacy = con.execute(
        f"""
        select shard_id, arg_max(sequence_number, lpad(sequence_number, {_SEQUENCE_WIDTH}, '0'))
        from {LANDING_TABLE}
        group by shard_id
        """  # noqa: S608 - identifiers are module constants; values are bound parameters
    ).fetchall()
    return {shard: seq for shard, seq in legacy}


def _next_refresh_time(con: duckdb.DuckDBPyConnection) -> datetime:
    """The page's stamp: now, or just past the newest committed stamp if the clock is behind it.

    Read inside the page's transaction: landers on one warehouse take turns (one writer per
    file), so stamps increase in commit order. A warehouse landed before stamps were kept beside
    the positions takes its newest from the landing once."""
    row = con.execute(f"select max(refresh_time) from {POSITIONS_TABLE}").fetchone()  # noqa: S608 - identifiers are module constants
    newest = row[0] if row else None
    if newest is None:
        row = con.execute(f"select max(refresh_time) from {LANDING_TABLE}").fetchone()  # noqa: S608 - identifiers are module constants
        newest = row[0] if row else None
    now = datetime.now(UTC)
    if newest is None or now > newest:
        return now
    stamp: datetime = newest + timedelta(microseconds=1)
    return stamp


def _decode(data: bytes) -> str:
    # Landing keeps every record. Bytes that are not UTF-8 cannot live in a VARCHAR; they are
    # kept with U+FFFD in their place and the parse step quarantines the record.
    return data.decode("utf-8", errors="replace")


@dataclass
class LandingStats:
    landed: int = 0
    batches: int = 0
    per_shard: dict[str, int] = field(default_factory=dict)


class StreamLander:
    """Drains the stream into the warehouse; ``land_once`` for a batch job, ``run`` to follow."""

    def __init__(
        self,
        settings: Settings,
        kinesis: Any,
        *,
        records_per_call: int | None = None,
        after_commit: Callable[[int], None] | None = None,
        turn: threading.Lock | None = None,
    ) -> None:
        self._settings = settings
        # Taken around each page's write when a build runs in this same process (the demo):
        # DuckDB refuses the build's closing CHECKPOINT while another write transaction is open.
        self._turn = turn if turn is not None else contextlib.nullcontext()
        self._reader = ShardReader(
            kinesis,
            settings.stream_name,
            records_per_call=records_per_call or settings.landing_records_per_call,
        )
        self._after_commit = after_commit
        self._kinesis = kinesis
        self._stream: StreamIdentity | None = None
        self._positions: dict[str, str] | None = None
        self.stats = LandingStats()

    def _load_positions(self) -> dict[str, str]:
        if self._stream is None:
            self._stream = StreamIdentity.of(self._kinesis, self._settings.stream_name)
        if self._positions is None:
            with warehouse.connect(self._settings.warehouse_path) as con:
                ensure_landing_table(con)
                self._positions = landed_positions(con, self._stream)
        return self._positions

    def _append(self, shard_id: str, records: list[dict[str, Any]]) -> int:
        """Write the records past the shard's committed position; return how many."""
        # S101: narrows the type for mypy; positions are loaded before any append.
        assert self._stream is not None and self._positions is not None  # noqa: S101
        identity = {"arn": self._stream.arn, "created": self._stream.created_at, "shard": shard_id}
        # The file is held only while a page is written: dbt, Soda and analysts in other
        # processes get their turn between pages.
        with self._turn, warehouse.connect(self._settings.warehouse_path) as con:
            ensure_landing_table(con)
            con.execute("begin")
            # Read inside the transaction: another lander may have landed this page since our
            # positions were read; only what is past the committed position is written.
            committed = con.execute(
                f"select sequence_number from {POSITIONS_TABLE} "  # noqa: S608 - identifiers are module constants
                "where stream_arn = $arn and stream_created_at = $created and shard_id = $shard",
                identity,
            ).fetchone()
            position = committed[0] if committed else self._positions.get(shard_id)
            fresh = [
                r for r in records if position is None or int(r["SequenceNumber"]) > int(position)
            ]
            if fresh:
                stamp = _next_refresh_time(con)
                self._insert(con, shard_id, fresh, stamp)
                position = fresh[-1]["SequenceNumber"]
                con.execute(
                    f"insert or replace into {POSITIONS_TABLE} "  # noqa: S608 - identifiers are module constants
                    "(stream_arn, stream_created_at, shard_id, sequence_number, refresh_time) "
                    "values ($arn, $created, $shard, $sequence, $stamp)",
                    {**identity, "sequence": position, "stamp": stamp},
                )
            con.execute("commit")
        if position is not None:
            self._positions[shard_id] = position
        self.stats.landed += len(fresh)
        self.stats.batches += 1
        self.stats.per_shard[shard_id] = self.stats.per_shard.get(shard_id, 0) + len(fresh)
        if fresh:
            log.info("committed %d records of %s up to %s", len(fresh), shard_id, position)
            if self._after_commit is not None:
                self._after_commit(len(fresh))
        return len(fresh)

    def _insert(
        self,
        con: duckdb.DuckDBPyConnection,
        shard_id: str,
        records: list[dict[str, Any]],
        stamp: datetime,
    ) -> None:
        batch = pa.Table.from_pydict(
            {
                "approximate_arrival_timestamp": [
                    r["ApproximateArrivalTimestamp"] for r in records
                ],
                "partition_key": [r["PartitionKey"] for r in records],
                "shard_id": [shard_id] * len(records),
                "sequence_number": [r["SequenceNumber"] for r in records],
                "kinesis_data": [_decode(r["Data"]) for r in records],
            },
            schema=_ARROW_SCHEMA,
        )
        con.register("landing_batch", batch)
        con.execute(
            f"""
            insert into {LANDING_TABLE}
            select
                approximate_arrival_timestamp, partition_key, shard_id, sequence_number,
                $stamp as refresh_time, kinesis_data
            from landing_batch
            """,  # noqa: S608 - identifiers are module constants; values are bound parameters
            {"stamp": stamp},
        )
        con.unregister("landing_batch")

    def land_once(self) -> int:
        """Land everything on the stream now; return how many records were landed.

        The next page of a shard is fetched while the current one is written, so reading the
        stream and writing the warehouse overlap; pages are still committed strictly in order.
        """
        positions = self._load_positions()
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lander-fetch") as fetcher:
                return sum(
                    self._land_shard(fetcher, shard_id, positions)
                    for shard_id in self._reader.shard_ids()
                )
        except BaseException:
            # Whatever failed (a held warehouse, an Arrow error, a stream error), the reader's
            # iterators may be past records that never committed: forget them and the cached
            # positions, so a retry on this same object resumes from what the warehouse holds.
            self._reader.forget()
            self._positions = None
            raise

    def _land_shard(
        self, fetcher: ThreadPoolExecutor, shard_id: str, positions: dict[str, str]
    ) -> int:
        landed = 0
        page = fetcher.submit(self._reader.read, shard_id, positions.get(shard_id))
        while True:
            current = page.result()
            if current is None:
                # Iterators live five minutes; the landed position is where to resume, and
                # every page before this one is committed by now.
                page = fetcher.submit(self._reader.read, shard_id, positions.get(shard_id))
                continue
            if not current.done:
                # Prefetch: the reader holds the live iterator; the position given is only
                # where a fresh one would start.
                fetched = current.records[-1]["SequenceNumber"] if current.records else None
                page = fetcher.submit(
                    self._reader.read, shard_id, fetched or positions.get(shard_id)
                )
            if current.records:
                landed += self._append(shard_id, current.records)
            if current.done:
                return landed

    def run(self, stop: threading.Event) -> None:
        """Follow the stream until ``stop`` is set, sleeping only when every shard is drained."""
        while not stop.is_set():
            started = time.monotonic()
            if self.land_once() == 0:
                stop.wait(self._settings.poll_interval_seconds)
            log.debug("landing pass took %.2fs", time.monotonic() - started)

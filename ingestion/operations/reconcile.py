"""`accfb reconcile`: does every layer hold what the archive holds for a window, to the cent?

For each event type it compares, for records that arrived in [start, end):

- the raw archive (the objects in S3, read by DuckDB) with the landing tables (stream and
  backfill landings as staging reads them, one row per stream position): records and
  ``amount_cents``, which must be equal, since landing keeps every record;
- the gifts of the window with ``marts.fct_donations``: the archive's contract-valid gifts
  (records not in ``ops.quarantined_events``), one per ``donation_id`` with the earliest
  ``emitted_at`` winning, against the mart's rows for those gifts: count and gross cents.

- the archive's `errors/` prefix (ingestion/archive/errors.py): records of the window the
  transform could not file, which no replay can read. Any is a finding (expected: none).

Any difference is a finding; the command exits non-zero on one. Given sources, both sides are
narrowed to the records the archive files under those sources (a backfill of some sources is
reconciled for those sources only); the errors/ line counts every source, since a record that
failed the transform has no source partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from ingestion.archive.errors import failed_records
from ingestion.archive.format import UNKNOWN_SOURCE
from ingestion.config import aws, s3_access, warehouse
from ingestion.config.settings import Settings
from ingestion.replay.loads import window_objects
from ingestion.replay.window import Window

AMOUNT_TYPES = ("donation.completed", "donation.refunded")
GIFTS = "gifts → fct_donations"
PROCESSING_FAILED = "archive errors/ (processing failed)"

# The archive's partition rule (archive_format.record_source) in SQL, for the landing side: the
# record's `source` when it is a JSON object whose `source` is a plain name, else "unknown".
RECORD_SOURCE_SQL = f"""
    coalesce(
        case when json_valid(kinesis_data) then
            case
                when json_type(kinesis_data) = 'OBJECT'
                    and json_type(kinesis_data, '$.source') = 'VARCHAR'
                    and regexp_full_match(
                        json_extract_string(kinesis_data, '$.source'), '[a-z][a-z0-9_]{{0,62}}'
                    )
                then json_extract_string(kinesis_data, '$.source')
            end
        end,
        '{UNKNOWN_SOURCE}'
    )
"""


@dataclass(frozen=True)
class ReconcileRow:
    """One line of the table: what the archive says against what the warehouse says."""

    check: str
    archive_count: int
    warehouse_count: int
    archive_cents: int | None
    warehouse_cents: int | None

    @property
    def ok(self) -> bool:
        return (
            self.archive_count == self.warehouse_count
            and self.archive_cents == self.warehouse_cents
        )


def _narrow(relation: str) -> str:
    """Only what the checks read, parsed once: a soak reconciles millions of records in one
    pass, and keeping their text would hold gigabytes in memory."""
    return f"""
        with parsed as (
            select
                approximate_arrival_timestamp, shard_id, sequence_number,
                case when json_valid(kinesis_data) then kinesis_data::json end as record
            from {relation}
        )
        select
            approximate_arrival_timestamp, shard_id, sequence_number,
            case
                when record is null then '(not json)'
                else coalesce(json_extract_string(record, '$.event_type'), '(none)')
            end as event_type,
            case
                when json_extract_string(record, '$.event_type') in {AMOUNT_TYPES}
                then try_cast(json_extract_string(record, '$.payload.amount_cents') as hugeint)
            end as cents,
            json_extract_string(record, '$.payload.donation_id') as donation_id,
            try_cast(json_extract_string(record, '$.payload.amount_cents') as bigint)
                as amount_cents,
            try_cast(json_extract_string(record, '$.emitted_at') as timestamptz) as emitted_at,
            json_extract_string(record, '$.event_id') as event_id
        from parsed
    """  # noqa: S608 - identifiers are module constants


def _load_archive(
    con: duckdb.DuckDBPyConnection, settings: Settings, span: Window, sources: Sequence[str]
) -> None:
    keys = window_objects(aws.client("s3", settings), settings.raw_bucket, span, sources)
    empty = "select null::timestamptz as approximate_arrival_timestamp, null::varchar as "
    empty += "shard_id, null::varchar as sequence_number, null::varchar as kinesis_data limit 0"
    if not keys:
        con.execute(f"create or replace temp table archived as {_narrow(f'({empty})')}")
        return
    s3_access.enable_s3(con, settings)
    urls = [s3_access.s3_url(settings.raw_bucket, k.key) for k in keys]
    raw = """(
        select approximate_arrival_timestamp, shard_id, sequence_number, kinesis_data
        from read_json(
            $urls, format = 'newline_delimited', compression = 'gzip',
            columns = {
                approximate_arrival_timestamp: 'timestamptz', partition_key: 'varchar',
                shard_id: 'varchar', sequence_number: 'varchar', kinesis_data: 'varchar'
            }
        )
        where approximate_arrival_timestamp >= $start and approximate_arrival_timestamp < $end
    )"""
    con.execute(
        f"create or replace temp table archived as {_narrow(raw)}",
        {"urls": urls, "start": span.start, "end": span.end},
    )


def _load_landed(con: duckdb.DuckDBPyConnection, span: Window, sources: Sequence[str]) -> None:
    raw = f"""(
        select approximate_arrival_timestamp, shard_id, sequence_number, kinesis_data
        from landing.landed_records
        where approximate_arrival_timestamp >= $start and approximate_arrival_timestamp < $end
            and (len($sources) = 0 or list_contains($sources, {RECORD_SOURCE_SQL}))
    )"""  # noqa: S608 - identifiers are module constants; values are bound parameters
    con.execute(
        f"create or replace temp table landed as {_narrow(raw)}",
        {"start": span.start, "end": span.end, "sources": list(sources)},
    )


def _by_event_type(
    con: duckdb.DuckDBPyConnection, relation: str, window: Window
) -> dict[str, tuple[int, int | None]]:
    """Records and amount per event type; records that are not JSON get their own line."""
    rows = con.execute(
        f"""
        select event_type, count(*), sum(cents)
        from {relation}
        where approximate_arrival_timestamp >= $start and approximate_arrival_timestamp < $end
        group by 1
        """,  # noqa: S608 - identifiers are module constants; values are bound parameters
        {"start": window.start, "end": window.end},
    ).fetchall()
    return {t: (n, c) for t, n, c in rows}


def _window_rows(
    con: duckdb.DuckDBPyConnection, window: Window, failed_arrivals: Sequence[datetime | None]
) -> list[ReconcileRow]:
    archive_types = _by_event_type(con, "archived", window)
    landed_types = _by_event_type(con, "landed", window)
    rows = []
    for event_type in sorted(archive_types.keys() | landed_types.keys()):
        a_count, a_cents = archive_types.get(event_type, (0, None))
        l_count, l_cents = landed_types.get(event_type, (0, None))
        amounts = event_type in AMOUNT_TYPES
        rows.append(
            ReconcileRow(
                event_type,
                a_count,
                l_count,
                int(a_cents or 0) if amounts else None,
                int(l_cents or 0) if amounts else None,
            )
        )
    gifts = con.execute(
        """
        with

        valid_gifts as (
            select donation_id, amount_cents, emitted_at, event_id
            from archived
            anti join ops.quarantined_events as quarantined
                on archived.shard_id = quarantined.shard_id
                and archived.sequence_number = quarantined.sequence_number
            where archived.event_type = 'donation.completed'
                and archived.approximate_arrival_timestamp >= $start
                and archived.approximate_arrival_timestamp < $end
        ),

        winning_gifts as (
            select * from valid_gifts
            qualify row_number() over (
                partition by donation_id
                order by emitted_at, event_id
            ) = 1
        )

        select
            count(*),
            coalesce(sum(winning_gifts.amount_cents), 0),
            count(curated.donation_id),
            coalesce(sum(curated.gross_amount_cents), 0)
        from winning_gifts
        left join marts.fct_donations as curated
            on winning_gifts.donation_id = curated.donation_id
        """,
        {"start": window.start, "end": window.end},
    ).fetchone()
    # S101: narrows the type for mypy; the query always returns a row.
    assert gifts is not None  # noqa: S101
    rows.append(ReconcileRow(GIFTS, gifts[0], gifts[2], int(gifts[1]), int(gifts[3])))
    failed = sum(
        1
        for arrived_at in failed_arrivals
        # One whose arrival cannot be read could be of any window: it is counted in each.
        if arrived_at is None or window.start <= arrived_at < window.end
    )
    rows.append(ReconcileRow(PROCESSING_FAILED, failed, 0, None, None))
    return rows


def reconcile_windows(
    settings: Settings, windows: Sequence[Window], sources: Sequence[str] = ()
) -> list[list[ReconcileRow]]:
    """Reconcile each window (local warehouse), reading the archive and the landings once for
    all of them: the soak checks every minute of a run, and reading the run's archive once
    per minute costs its size times its minutes."""
    if not windows:
        return []
    span = Window(min(w.start for w in windows), max(w.end for w in windows))
    failed_arrivals = [
        record.arrived_at
        for record in failed_records(aws.client("s3", settings), settings.raw_bucket)
    ]
    with warehouse.connect(settings.warehouse_path) as con:
        _load_archive(con, settings, span, sources)
        _load_landed(con, span, sources)
        return [_window_rows(con, window, failed_arrivals) for window in windows]


def reconcile(
    settings: Settings, window: Window, sources: Sequence[str] = ()
) -> list[ReconcileRow]:
    """Compare the archive with the landings and the mart for the window (local warehouse);
    given sources, for the records of those sources only."""
    return reconcile_windows(settings, [window], sources)[0]

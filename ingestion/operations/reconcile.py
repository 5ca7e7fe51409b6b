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

Where: locally, DuckDB reads the archive from the endpoint and the warehouse file. On a Redshift
target the archive's objects are read from S3 into an in-memory DuckDB (the same narrowing and
checks), and the warehouse side is three read-only queries in a read-only transaction
(``REDSHIFT_*`` below; tests/operations parse them with sqlglot's Redshift dialect): records and
cents by event type, the window's quarantined positions, and the mart rows of its gifts.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ingestion.archive.errors import failed_records
from ingestion.archive.format import UNKNOWN_SOURCE
from ingestion.config import aws, redshift, s3_access, warehouse
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


# The same rule on Redshift's landing, whose streaming view parsed each record into SUPER.
REDSHIFT_RECORD_SOURCE = f"""
        case
            when is_object(record) and is_varchar(record.source)
                and regexp_instr(record.source::varchar(65535), '^[a-z][a-z0-9_]{{0,62}}$') > 0
            then record.source::varchar(65535)
            else '{UNKNOWN_SOURCE}'
        end"""
_REDSHIFT_LANDED = f"""
    select
        record,
        {REDSHIFT_RECORD_SOURCE} as record_source,
        shard_id,
        sequence_number
    from landing.landed_records
    where approximate_arrival_timestamp >= %s and approximate_arrival_timestamp < %s
"""  # noqa: S608 - module constants; values are bound parameters

# Records and cents per event type; %s: start, end, then "all sources" and the sources as
# ",a,b," (plain text matching: no array type to bind).
REDSHIFT_LANDED_BY_TYPE = f"""
with

landed as ({_REDSHIFT_LANDED}),

typed as (
    select
        case
            when record is null then '(not json)'
            else coalesce(record.event_type::varchar, '(none)')
        end as event_type,
        record.payload.amount_cents as amount
    from landed
    where %s or position(',' || record_source || ',' in %s) > 0
)

select
    event_type,
    count(*) as records,
    sum(
        case
            when event_type in {AMOUNT_TYPES} and is_integer(amount) then amount::bigint
        end
    ) as cents
from typed
group by 1
"""  # noqa: S608 - module constants; values are bound parameters

# The window's quarantined stream positions (the records the archive side must leave out).
REDSHIFT_QUARANTINED = """
select shard_id, sequence_number
from ops.quarantined_events
where arrived_at >= %s and arrived_at < %s
"""

# fct_donations' rows for the gifts landed in the window.
REDSHIFT_CURATED_GIFTS = f"""
with

landed as ({_REDSHIFT_LANDED}),

window_gifts as (
    select distinct record.payload.donation_id::varchar as donation_id
    from landed
    where record.event_type::varchar = 'donation.completed'
)

select curated.donation_id, curated.gross_amount_cents
from marts.fct_donations as curated
inner join window_gifts
    on curated.donation_id = window_gifts.donation_id
"""  # noqa: S608 - module constants; values are bound parameters


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


def _downloaded(settings: Settings, keys: Sequence[str], scratch: Path) -> list[str]:
    """The objects as files under ``scratch``: DuckDB here reads S3 only through the local
    endpoint (ingestion/config/s3_access.py), so in AWS boto3 fetches them."""
    s3 = aws.client("s3", settings)
    paths = []
    for number, key in enumerate(keys):
        path = scratch / f"{number:06d}.json.gz"
        s3.download_file(settings.raw_bucket, key, str(path))
        paths.append(str(path))
    return paths


def _load_archive(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    span: Window,
    sources: Sequence[str],
    scratch: Path | None = None,
) -> None:
    keys = window_objects(aws.client("s3", settings), settings.raw_bucket, span, sources)
    empty = "select null::timestamptz as approximate_arrival_timestamp, null::varchar as "
    empty += "shard_id, null::varchar as sequence_number, null::varchar as kinesis_data limit 0"
    if not keys:
        con.execute(f"create or replace temp table archived as {_narrow(f'({empty})')}")
        return
    if settings.is_local:
        s3_access.enable_s3(con, settings)
        urls = [s3_access.s3_url(settings.raw_bucket, k.key) for k in keys]
    else:
        assert scratch is not None  # noqa: S101 - the Redshift path always passes one
        urls = _downloaded(settings, [k.key for k in keys], scratch)
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
    con: duckdb.DuckDBPyConnection,
    window: Window,
    failed_arrivals: Sequence[datetime | None],
    landed_types: dict[str, tuple[int, int | None]],
) -> list[ReconcileRow]:
    archive_types = _by_event_type(con, "archived", window)
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
    failed_arrivals = _failed_arrivals(settings)
    with warehouse.connect(settings.warehouse_path) as con:
        _load_archive(con, settings, span, sources)
        _load_landed(con, span, sources)
        return [
            _window_rows(con, window, failed_arrivals, _by_event_type(con, "landed", window))
            for window in windows
        ]


def _failed_arrivals(settings: Settings) -> list[datetime | None]:
    return [
        record.arrived_at
        for record in failed_records(aws.client("s3", settings), settings.raw_bucket)
    ]


def _reconcile_on_redshift(
    settings: Settings, window: Window, sources: Sequence[str]
) -> list[ReconcileRow]:
    bounds = (window.start, window.end)
    narrowed = (*bounds, not sources, f",{','.join(sources)},")
    landed_types = {
        event_type: (int(records), None if cents is None else int(cents))
        for event_type, records, cents in redshift.read(settings, REDSHIFT_LANDED_BY_TYPE, narrowed)
    }
    quarantined = redshift.read(settings, REDSHIFT_QUARANTINED, bounds)
    curated = redshift.read(settings, REDSHIFT_CURATED_GIFTS, bounds)
    failed_arrivals = _failed_arrivals(settings)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.state_dir) as scratch, duckdb.connect() as con:
        _load_archive(con, settings, window, sources, Path(scratch))
        # What the gifts check joins, as the local warehouse names it.
        con.execute("create schema ops; create schema marts")
        con.execute(
            "create table ops.quarantined_events (shard_id varchar, sequence_number varchar)"
        )
        con.executemany("insert into ops.quarantined_events values (?, ?)", quarantined)
        con.execute(
            "create table marts.fct_donations (donation_id varchar, gross_amount_cents bigint)"
        )
        con.executemany("insert into marts.fct_donations values (?, ?)", curated)
        return _window_rows(con, window, failed_arrivals, landed_types)


def reconcile(
    settings: Settings, window: Window, sources: Sequence[str] = ()
) -> list[ReconcileRow]:
    """Compare the archive with the landings and the mart for the window (the local warehouse,
    or Redshift on a Redshift target); given sources, for the records of those sources only."""
    if settings.dbt_target != "local":
        return _reconcile_on_redshift(settings, window, sources)
    return reconcile_windows(settings, [window], sources)[0]

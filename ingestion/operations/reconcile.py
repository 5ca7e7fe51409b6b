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


def _by_event_type(relation: str) -> str:
    """Records and amount per event type; records that are not JSON get their own line."""
    return f"""
        with parsed as (
            select case when json_valid(kinesis_data) then kinesis_data::json end as record
            from {relation}
        )
        select
            case
                when record is null then '(not json)'
                else coalesce(json_extract_string(record, '$.event_type'), '(none)')
            end as event_type,
            count(*) as records,
            sum(
                case when json_extract_string(record, '$.event_type') in {AMOUNT_TYPES}
                then try_cast(json_extract_string(record, '$.payload.amount_cents') as hugeint)
                end
            ) as cents
        from parsed
        group by 1
    """  # noqa: S608 - identifiers are module constants; values are bound parameters


def _load_archive(
    con: duckdb.DuckDBPyConnection, settings: Settings, window: Window, sources: Sequence[str]
) -> None:
    keys = window_objects(aws.client("s3", settings), settings.raw_bucket, window, sources)
    con.execute(
        """
        create or replace temp table archived (
            approximate_arrival_timestamp timestamptz, shard_id varchar,
            sequence_number varchar, kinesis_data varchar
        )
        """
    )
    if not keys:
        return
    s3_access.enable_s3(con, settings)
    urls = [s3_access.s3_url(settings.raw_bucket, k.key) for k in keys]
    con.execute(
        """
        insert into archived
        select approximate_arrival_timestamp, shard_id, sequence_number, kinesis_data
        from read_json(
            ?, format = 'newline_delimited', compression = 'gzip',
            columns = {
                approximate_arrival_timestamp: 'timestamptz', partition_key: 'varchar',
                shard_id: 'varchar', sequence_number: 'varchar', kinesis_data: 'varchar'
            }
        )
        where approximate_arrival_timestamp >= ? and approximate_arrival_timestamp < ?
        """,
        [urls, window.start, window.end],
    )


def reconcile(
    settings: Settings, window: Window, sources: Sequence[str] = ()
) -> list[ReconcileRow]:
    """Compare the archive with the landings and the mart for the window (local warehouse);
    given sources, for the records of those sources only."""
    with warehouse.connect(settings.warehouse_path) as con:
        _load_archive(con, settings, window, sources)
        con.execute(
            f"""
            create or replace temp table landed as
            select shard_id, sequence_number, kinesis_data
            from landing.landed_records
            where approximate_arrival_timestamp >= $start and approximate_arrival_timestamp < $end
                and (len($sources) = 0 or list_contains($sources, {RECORD_SOURCE_SQL}))
            """,  # noqa: S608 - identifiers are module constants; values are bound parameters
            {"start": window.start, "end": window.end, "sources": list(sources)},
        )
        archive_types = {
            t: (n, c) for t, n, c in con.execute(_by_event_type("archived")).fetchall()
        }
        landed_types = {t: (n, c) for t, n, c in con.execute(_by_event_type("landed")).fetchall()}
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

            valid_records as (
                select
                    case
                        when json_valid(archived.kinesis_data) then archived.kinesis_data::json
                    end as record
                from archived
                anti join ops.quarantined_events as quarantined
                    on archived.shard_id = quarantined.shard_id
                    and archived.sequence_number = quarantined.sequence_number
            ),

            valid_gifts as (
                select
                    json_extract_string(record, '$.payload.donation_id') as donation_id,
                    cast(json_extract_string(record, '$.payload.amount_cents') as bigint)
                        as amount_cents,
                    cast(json_extract_string(record, '$.emitted_at') as timestamptz)
                        as emitted_at,
                    json_extract_string(record, '$.event_id') as event_id
                from valid_records
                where json_extract_string(record, '$.event_type') = 'donation.completed'
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
            """
        ).fetchone()
    # S101: narrows the type for mypy; the query always returns a row.
    assert gifts is not None  # noqa: S101
    rows.append(ReconcileRow(GIFTS, gifts[0], gifts[2], int(gifts[1]), int(gifts[3])))
    failed = sum(
        1
        for record in failed_records(aws.client("s3", settings), settings.raw_bucket)
        # One whose arrival cannot be read could be of any window: it is counted in each.
        if record.arrived_at is None or window.start <= record.arrived_at < window.end
    )
    rows.append(ReconcileRow(PROCESSING_FAILED, failed, 0, None, None))
    return rows

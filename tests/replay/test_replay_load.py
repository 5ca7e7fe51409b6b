"""The replay load's own guarantees, on archive objects written by hand: only the window loads, a
record the archive holds twice loads once, a second load adds nothing, and a warehouse whose
backfill landing still has the old primary key is upgraded in place without losing a row."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.archive.format import archive_line
from ingestion.archive.keys import object_key
from ingestion.config import aws, warehouse
from ingestion.config.settings import Settings
from ingestion.replay.loads import Window, load_window
from tests.support import query

HOUR = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
WINDOW = Window(HOUR + timedelta(minutes=10), HOUR + timedelta(minutes=20))
SHARD = "shardId-000000000000"


def line(sequence: int, arrival: datetime) -> bytes:
    data = f'{{"source":"donation_platform","n":{sequence}}}'.encode()
    return archive_line(
        shard_id=SHARD,
        sequence_number=f"{sequence:056d}",
        arrival=arrival,
        partition_key="donor-1",
        data=data,
    )


def put_object(settings: Settings, first: int, last: int, lines: list[bytes]) -> str:
    s3: Any = aws.client("s3", settings)
    key = object_key("donation_platform", HOUR, SHARD, f"{first:056d}", f"{last:056d}")
    body = gzip.compress(b"\n".join(lines) + b"\n")
    s3.put_object(Bucket=settings.raw_bucket, Key=key, Body=body)
    return f"s3://{settings.raw_bucket}/{key}"


def landed(settings: Settings) -> list[tuple[int, str]]:
    rows = query(
        settings,
        "select sequence_number, archive_key from lander.backfill_records order by 1, 2",
    )
    return [(int(sequence), key) for sequence, key in rows]


def test_only_the_window_loads_and_a_record_archived_twice_loads_once(
    provisioned: Settings,
) -> None:
    first = put_object(
        provisioned,
        1,
        5,
        [
            line(1, WINDOW.start - timedelta(microseconds=1)),
            line(2, WINDOW.start),
            line(3, WINDOW.start + timedelta(minutes=5)),
            line(3, WINDOW.start + timedelta(minutes=5)),  # twice in one object
            line(4, WINDOW.end - timedelta(microseconds=1)),
            line(5, WINDOW.end),
        ],
    )
    # An at-least-once writer wrote part of the batch again, into another object.
    again = put_object(provisioned, 4, 6, [line(4, WINDOW.end - timedelta(microseconds=1))])

    report = load_window(provisioned, WINDOW)

    assert first < again
    assert report.objects == 2
    assert report.loaded == 3
    assert landed(provisioned) == [(2, first), (3, first), (4, first)]

    assert load_window(provisioned, WINDOW).loaded == 0
    wider = Window(HOUR, HOUR + timedelta(hours=1))
    assert load_window(provisioned, wider).loaded == 2
    assert landed(provisioned) == [(n, first) for n in range(1, 6)]


def test_a_backfill_landing_with_the_old_primary_key_is_upgraded_in_place(
    provisioned: Settings,
) -> None:
    archived = put_object(
        provisioned, 1, 3, [line(n, WINDOW.start + timedelta(minutes=n)) for n in range(1, 4)]
    )
    with warehouse.connect(provisioned.warehouse_path) as con:
        con.execute("create schema lander")
        con.execute(
            """
            create table lander.backfill_records (
                approximate_arrival_timestamp timestamptz not null,
                partition_key varchar not null,
                shard_id varchar not null,
                sequence_number varchar not null,
                refresh_time timestamptz not null,
                kinesis_data varchar not null,
                archive_key varchar not null,
                primary key (shard_id, sequence_number)
            )
            """
        )
        con.execute(
            """
            insert into lander.backfill_records values
                (?, 'donor-1', ?, ?, '2026-11-21 00:00:00+00', 'landed before the upgrade', ?)
            """,
            [WINDOW.start + timedelta(minutes=1), SHARD, f"{1:056d}", archived],
        )
        # Something already reads the table (the landed_records view does).
        con.execute("create view lander.replayed as select * from lander.backfill_records")

    assert load_window(provisioned, WINDOW).loaded == 2

    assert landed(provisioned) == [(n, archived) for n in range(1, 4)]
    assert query(
        provisioned,
        "select kinesis_data, refresh_time from lander.replayed "
        f"where sequence_number = '{1:056d}'",
    ) == [("landed before the upgrade", datetime(2026, 11, 21, tzinfo=UTC))]
    assert query(
        provisioned,
        "select count(*) from duckdb_constraints() "
        "where table_name = 'backfill_records' and constraint_type = 'PRIMARY KEY'",
    ) == [(0,)]
    assert load_window(provisioned, WINDOW).loaded == 0

"""`accfb trace`: from a gift to its raw records, or from a figure to the gifts behind it.

For an auditor. `accfb trace DONATION_ID`: each record that names the gift (its completion,
re-sends, redeliveries, refunds, and the ones the contract turned away) with where it sits in the
raw archive and on the stream, what the pipeline did with it, and the mart row the surviving
records add up to; and any record naming it that the archive's transform could not file
(Firehose's `errors/` prefix). `accfb trace --campaign C --day D` (the campaign's net for the
day, as the fundraising dashboard shows it from fct_donations) and `accfb trace --closed-day D`
(the closed day's net in rpt_closed_days, close plus adjustments): every gift and refund the
figure sums, each with the raw record that was counted (archive object, shard, sequence), and
the figure beside their sum.

Where: locally, the DuckDB warehouse file. On a Redshift target the gift's trace reads the same
tables with read-only queries in a read-only transaction (``REDSHIFT_*`` below, checked by
tests/warehouse/test_redshift_statements.py), and the archive and its errors/ from S3; the
figure traces read the local warehouse only so far, and refuse elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ingestion.archive.errors import FailedRecord, failed_records
from ingestion.archive.format import record_source
from ingestion.archive.keys import ArchiveKey, list_archive, partition_prefix
from ingestion.config import aws, redshift, s3_access, warehouse
from ingestion.config.settings import Settings
from ingestion.operations.reconcile import REDSHIFT_RECORD_SOURCE


@dataclass(frozen=True)
class TracedRecord:
    archive_key: str | None
    shard_id: str
    sequence_number: str
    arrived_at: datetime
    landed_by: str  # stream or replay: whose copy staging read
    event_id: str | None
    event_type: str | None
    verdict: str  # what the pipeline did with the record


@dataclass(frozen=True)
class Trace:
    donation_id: str
    records: list[TracedRecord]
    curated: dict[str, list[dict[str, Any]]]  # table -> its rows for the gift
    failed: list[FailedRecord] = field(default_factory=list)  # under the archive's errors/


_RECORDS = """
    with

    candidates as (
        select
            *,
            case when json_valid(kinesis_data) then kinesis_data::json end as record
        from landing.landed_records
        where contains(kinesis_data, $donation_id)
    ),

    landed as (
        select * from candidates
        where json_extract_string(record, '$.payload.donation_id') = $donation_id
    ),

    staged as (
        select shard_id, sequence_number, event_id from staging.stg_stream__events
    )

    select
        landed.shard_id,
        landed.sequence_number,
        landed.approximate_arrival_timestamp,
        landed.landed_by,
        json_extract_string(landed.record, '$.event_id') as event_id,
        json_extract_string(landed.record, '$.event_type') as event_type,
        quarantined.reason as quarantine_reason,
        staged.shard_id as first_shard_id,
        staged.sequence_number as first_sequence_number,
        gift.event_id as winning_event_id,
        refund.refund_id,
        replayed.archive_key as replayed_from,
        landed.kinesis_data
    from landed
    left join ops.quarantined_events as quarantined
        on landed.shard_id = quarantined.shard_id
        and landed.sequence_number = quarantined.sequence_number
    left join staged
        on json_extract_string(landed.record, '$.event_id') = staged.event_id
    left join marts.fct_donations as gift
        on gift.donation_id = $donation_id
    left join staging.stg_donation_platform__refunds as refund
        on landed.shard_id = refund.shard_id
        and landed.sequence_number = refund.sequence_number
    left join lander.backfill_records as replayed
        on landed.shard_id = replayed.shard_id
        and landed.sequence_number = replayed.sequence_number
    order by landed.approximate_arrival_timestamp, landed.shard_id, landed.sequence_number
"""


# The same on Redshift, whose landing holds each record parsed (`record`, SUPER); its archive
# partition (`record_source`) is computed here, as the archive's transform computed it. %s: the
# donation_id, once. Text casts name their length: Redshift's bare varchar is 256 bytes.
REDSHIFT_RECORDS = f"""
with

landed as (
    select
        shard_id,
        sequence_number,
        approximate_arrival_timestamp,
        landed_by,
        record.event_id::varchar(65535) as event_id,
        record.event_type::varchar(65535) as event_type,
        record.payload.donation_id::varchar(65535) as donation_id,
        {REDSHIFT_RECORD_SOURCE} as record_source
    from landing.landed_records
    where record.payload.donation_id::varchar(65535) = %s
),

staged as (
    select shard_id, sequence_number, event_id from staging.stg_stream__events
)

select
    landed.shard_id,
    landed.sequence_number,
    landed.approximate_arrival_timestamp,
    landed.landed_by,
    landed.event_id,
    landed.event_type,
    quarantined.reason as quarantine_reason,
    staged.shard_id as first_shard_id,
    staged.sequence_number as first_sequence_number,
    gift.event_id as winning_event_id,
    refund.refund_id,
    replayed.archive_key as replayed_from,
    landed.record_source
from landed
left join ops.quarantined_events as quarantined
    on landed.shard_id = quarantined.shard_id
    and landed.sequence_number = quarantined.sequence_number
left join staged
    on landed.event_id = staged.event_id
left join marts.fct_donations as gift
    on landed.donation_id = gift.donation_id
left join staging.stg_donation_platform__refunds as refund
    on landed.shard_id = refund.shard_id
    and landed.sequence_number = refund.sequence_number
left join lander.backfill_records as replayed
    on landed.shard_id = replayed.shard_id
    and landed.sequence_number = replayed.sequence_number
order by landed.approximate_arrival_timestamp, landed.shard_id, landed.sequence_number
"""  # noqa: S608 - module constants; the donation_id is a bound parameter
CURATED_TABLES = ("marts.fct_donations", "staging.stg_donation_platform__refunds")


def _verdict(row: dict[str, Any]) -> str:
    if row["quarantine_reason"] is not None:
        return f"quarantined: {row['quarantine_reason']}"
    if (row["first_shard_id"], row["first_sequence_number"]) != (
        row["shard_id"],
        row["sequence_number"],
    ):
        return (
            f"duplicate delivery of {row['event_id']} "
            f"(first at {row['first_shard_id']}/{row['first_sequence_number']})"
        )
    if row["event_type"] == "donation.completed":
        if row["event_id"] == row["winning_event_id"]:
            return "the gift (counted)"
        return (
            f"re-send of the gift under a new event_id (counted once as {row['winning_event_id']})"
        )
    if row["event_type"] == "donation.refunded":
        return f"refund {row['refund_id']}" + (
            "" if row["winning_event_id"] else " (gift not in yet)"
        )
    return "staged"


class _ArchiveIndex:
    """Finds the archive object holding a record, listing each partition once."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._partitions: dict[str, list[ArchiveKey]] = {}

    def key_in(self, source: str, arrived_at: datetime, shard_id: str, seq: str) -> str | None:
        prefix = partition_prefix(source, arrived_at)
        if prefix not in self._partitions:
            self._partitions[prefix] = list(list_archive(self._s3, self._bucket, [prefix]))
        keys = self._partitions[prefix]
        for key in keys:
            if key.holds(shard_id, seq):
                return s3_access.s3_url(self._bucket, key.key)
        if any(key.shard_id is None for key in keys):
            # Firehose's object names carry no positions: the partition is as near as the key
            # gets without reading its objects.
            return s3_access.s3_url(self._bucket, prefix) + "*"
        return None


def _curated_sql(table: str, placeholder: str) -> str:
    # S608: identifiers are module constants; the value is a bound parameter.
    return f"select * from {table} where donation_id = {placeholder}"  # noqa: S608


def _local_rows(
    settings: Settings, donation_id: str
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    with warehouse.connect(settings.warehouse_path) as con:
        cursor = con.execute(_RECORDS, {"donation_id": donation_id})
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        curated: dict[str, list[dict[str, Any]]] = {}
        for table in CURATED_TABLES:
            cursor = con.execute(_curated_sql(table, "?"), [donation_id])
            columns = [d[0] for d in cursor.description or []]
            curated[table] = [dict(zip(columns, r, strict=True)) for r in cursor.fetchall()]
    for row in rows:
        row["record_source"] = record_source(row.pop("kinesis_data").encode())
    return rows, curated


def _redshift_rows(
    settings: Settings, donation_id: str
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    def named(sql: str) -> list[dict[str, Any]]:
        names, rows = redshift.read_named(settings, sql, (donation_id,))
        return [dict(zip(names, row, strict=True)) for row in rows]

    rows = named(REDSHIFT_RECORDS)
    for row in rows:
        # The driver gives Redshift's timestamp (UTC) without a zone.
        arrived = row["approximate_arrival_timestamp"]
        if arrived.tzinfo is None:
            row["approximate_arrival_timestamp"] = arrived.replace(tzinfo=UTC)
    return rows, {table: named(_curated_sql(table, "%s")) for table in CURATED_TABLES}


def trace_statements() -> dict[str, str]:
    """Every query the gift's trace sends Redshift (``%s``: the donation_id), for the Redshift
    rules check."""
    statements = {"records": REDSHIFT_RECORDS}
    statements.update({table: _curated_sql(table, "%s") for table in CURATED_TABLES})
    return statements


def trace(settings: Settings, donation_id: str) -> Trace:
    """The gift's records, verdicts, archive objects and mart rows (the local warehouse, or
    Redshift on a Redshift target)."""
    local = settings.dbt_target == "local"
    rows, curated = (_local_rows if local else _redshift_rows)(settings, donation_id)
    s3 = aws.client("s3", settings)
    archive = _ArchiveIndex(s3, settings.raw_bucket)
    records = []
    for row in rows:
        key = row["replayed_from"]
        if key is None:
            key = archive.key_in(
                row["record_source"],
                row["approximate_arrival_timestamp"],
                row["shard_id"],
                row["sequence_number"],
            )
        records.append(
            TracedRecord(
                archive_key=key,
                shard_id=row["shard_id"],
                sequence_number=row["sequence_number"],
                arrived_at=row["approximate_arrival_timestamp"],
                landed_by=row["landed_by"],
                event_id=row["event_id"],
                event_type=row["event_type"],
                verdict=_verdict(row),
            )
        )
    needle = donation_id.encode()
    failed = [r for r in failed_records(s3, settings.raw_bucket) if needle in r.data]
    return Trace(donation_id, records, curated, failed)


@dataclass(frozen=True)
class FigureItem:
    kind: str  # gift or refund
    donation_id: str
    refund_id: str | None
    event_id: str
    amount_cents: int  # signed: a refund is negative
    shard_id: str | None
    sequence_number: str | None
    arrived_at: datetime | None
    archive_key: str | None


@dataclass(frozen=True)
class FigureTrace:
    figure: str
    figure_cents: int | None  # the mart's figure; None when the mart has none
    items: list[FigureItem]

    @property
    def total_cents(self) -> int:
        return sum(item.amount_cents for item in self.items)

    @property
    def adds_up(self) -> bool:
        return self.figure_cents is not None and self.figure_cents == self.total_cents


# The gifts and refunds a figure sums (entries), each joined to the stream record counted for it:
# stg_stream__events keeps each event_id's first landed copy, the one staging read.
_ITEMS = """
    with

    entries as ({entries}),

    events as (
        select event_id, source, shard_id, sequence_number, arrived_at
        from staging.stg_stream__events
        where event_id in (select event_id from entries)
    )

    select
        entries.kind,
        entries.donation_id,
        entries.refund_id,
        entries.event_id,
        entries.amount_cents,
        events.source,
        events.shard_id,
        events.sequence_number,
        events.arrived_at
    from entries
    left join events
        on entries.event_id = events.event_id
    order by entries.kind, entries.donation_id, entries.refund_id
"""

_CAMPAIGN_DAY_ENTRIES = """
    select 'gift' as kind, donation_id, null as refund_id, event_id,
        gross_amount_cents as amount_cents
    from marts.fct_donations
    where campaign_id = $campaign and cast(donated_at as date) = $day

    union all

    select 'refund', refunds.donation_id, refunds.refund_id, refunds.event_id,
        -refunds.amount_cents
    from intermediate.int_refunds_deduplicated as refunds
    inner join marts.fct_donations as gifts
        on refunds.donation_id = gifts.donation_id
    where gifts.campaign_id = $campaign and cast(gifts.donated_at as date) = $day
"""

_CLOSED_DAY_ENTRIES = """
    select ledger.entry_type as kind, ledger.donation_id, ledger.refund_id,
        coalesce(refunds.event_id, gifts.event_id) as event_id, ledger.amount_cents
    from marts.fct_donation_ledger as ledger
    left join marts.fct_donations as gifts
        on ledger.entry_type = 'gift' and ledger.donation_id = gifts.donation_id
    left join intermediate.int_refunds_deduplicated as refunds
        on ledger.refund_id = refunds.refund_id
    where ledger.entry_date = $day and ledger.entry_type in ('gift', 'refund')
"""


def _figure_items(settings: Settings, entries: str, params: dict[str, Any]) -> list[FigureItem]:
    with warehouse.connect(settings.warehouse_path) as con:
        cursor = con.execute(_ITEMS.format(entries=entries), params)
        names = [d[0] for d in cursor.description or []]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    archive = _ArchiveIndex(aws.client("s3", settings), settings.raw_bucket)
    return [
        FigureItem(
            kind=row["kind"],
            donation_id=row["donation_id"],
            refund_id=row["refund_id"],
            event_id=row["event_id"],
            amount_cents=int(row["amount_cents"]),
            shard_id=row["shard_id"],
            sequence_number=row["sequence_number"],
            arrived_at=row["arrived_at"],
            archive_key=(
                archive.key_in(
                    row["source"], row["arrived_at"], row["shard_id"], row["sequence_number"]
                )
                if row["shard_id"] is not None
                else None
            ),
        )
        for row in rows
    ]


def _one(settings: Settings, sql: str, params: dict[str, Any]) -> int | None:
    with warehouse.connect(settings.warehouse_path) as con:
        row = con.execute(sql, params).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def trace_campaign_day(settings: Settings, campaign_id: str, day: date) -> FigureTrace:
    """The campaign's net for the UTC day (gifts made that day, net of their refunds)."""
    params = {"campaign": campaign_id, "day": day}
    figure = _one(
        settings,
        "select sum(net_amount_cents) from marts.fct_donations "
        "where campaign_id = $campaign and cast(donated_at as date) = $day",
        params,
    )
    items = _figure_items(settings, _CAMPAIGN_DAY_ENTRIES, params)
    return FigureTrace(f"net of campaign {campaign_id} on {day} (fct_donations)", figure, items)


def trace_closed_day(settings: Settings, day: date) -> FigureTrace:
    """The closed day's net: its close plus every adjustment since (rpt_closed_days)."""
    from ingestion.operations.close import revisions

    closed = revisions(settings, day)
    figure = sum(r.net_amount_cents for r in closed) if closed else None
    items = _figure_items(settings, _CLOSED_DAY_ENTRIES, {"day": day})
    return FigureTrace(
        f"net of closed day {day} (rpt_closed_days, {len(closed)} revision(s))", figure, items
    )

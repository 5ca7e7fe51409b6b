"""`accfb reconcile` finds a window the warehouse missed and passes once it is replayed, for a
whole window or the sources a replay covered;
`accfb trace` finds every raw record behind a gift, in the archive and on the stream."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import duckdb
import pytest
from typer.testing import CliRunner

from ingestion.archive.format import record_source
from ingestion.archive.keys import parse_key
from ingestion.cli import app
from ingestion.config.settings import Settings
from ingestion.operations.reconcile import (
    GIFTS,
    PROCESSING_FAILED,
    RECORD_SOURCE_SQL,
    reconcile,
    reconcile_windows,
)
from ingestion.operations.trace import trace
from ingestion.replay.loads import replay
from ingestion.replay.window import Window
from tests.support import (
    archive,
    archived_lines,
    build,
    corpus,
    land,
    publish,
    query,
    window_around_now,
    write_processing_failed,
)


def _env(settings: Settings) -> dict[str, str]:
    return {
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
        "ACCFB_STREAM_SHARDS": str(settings.stream_shards),
    }


def test_reconcile_fails_on_a_missed_window_and_passes_after_replay(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=51))
    archive(provisioned)
    land(provisioned)
    build(provisioned)
    window = window_around_now()

    rows = {row.check: row for row in reconcile(provisioned, window)}
    assert all(row.ok for row in rows.values()), rows
    assert rows[GIFTS].archive_count > 0
    assert rows["donation.completed"].archive_cents
    assert "(not json)" in rows  # malformed records are counted too, not skipped

    between = datetime.now(UTC)
    publish(provisioned, corpus(seed=52))  # landing is down for these
    archive(provisioned)
    build(provisioned)
    # Many windows in one pass (the soak's way) give each window's own verdict: the finding is
    # in the second half only, and the halves add up to the whole.
    halves = [Window(window.start, between), Window(between, window.end)]
    split = reconcile_windows(provisioned, halves)
    assert split == [reconcile(provisioned, half) for half in halves]
    assert all(row.ok for row in split[0])
    assert not all(row.ok for row in split[1])
    whole = {row.check: row for row in reconcile(provisioned, window)}
    for check in ("donation.completed", GIFTS):
        halves_count = sum(
            row.archive_count for rows in split for row in rows if row.check == check
        )
        assert halves_count == whole[check].archive_count > rows[check].archive_count
    runner = CliRunner()
    start, end = window.start.isoformat(), window.end.isoformat()
    missed = runner.invoke(
        app, ["reconcile", "--start", start, "--end", end], env=_env(provisioned)
    )
    assert missed.exit_code == 1, missed.output
    assert "DIFFERS" in missed.output

    replayed = runner.invoke(app, ["replay", "--start", start, "--end", end], env=_env(provisioned))
    assert replayed.exit_code == 0, replayed.output
    settled = runner.invoke(
        app, ["reconcile", "--start", start, "--end", end], env=_env(provisioned)
    )
    assert settled.exit_code == 0, settled.output
    assert "DIFFERS" not in settled.output


def test_trace_lists_every_raw_record_of_a_gift_with_its_archive_object(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=53, seconds=3))
    archive(provisioned)
    land(provisioned)
    build(provisioned)
    # The gift with the most records behind it (redeliveries, re-sends, refunds).
    ((donation_id, records),) = query(
        provisioned,
        """
        select json_extract_string(kinesis_data, '$.payload.donation_id') as donation_id, count(*)
        from lander.kinesis_records
        where json_valid(kinesis_data) and donation_id is not null
        group by 1 order by 2 desc, 1 limit 1
        """,
    )
    assert records > 1

    found = trace(provisioned, donation_id)

    archived = {
        (line["shard_id"], line["sequence_number"]): line["key"]
        for line in archived_lines(provisioned)
        if donation_id in line["kinesis_data"]
    }
    assert len(found.records) == records == len(archived)
    for record in found.records:
        key = archived[record.shard_id, record.sequence_number]
        assert record.archive_key == f"s3://{provisioned.raw_bucket}/{key}"
        parsed = parse_key(key)
        assert parsed is not None and parsed.holds(record.shard_id, record.sequence_number)
    verdicts = Counter(r.verdict.split(" ")[0] for r in found.records)
    assert sum(1 for r in found.records if r.verdict == "the gift (counted)") == 1, verdicts
    (gift,) = found.curated["marts.fct_donations"]
    assert gift["donation_id"] == donation_id

    runner = CliRunner()
    shown = runner.invoke(app, ["trace", donation_id], env=_env(provisioned))
    assert shown.exit_code == 0, shown.output
    assert donation_id in shown.output


def test_reconcile_narrowed_to_the_replayed_sources_passes_where_the_whole_window_differs(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=54))
    archive(provisioned)
    window = window_around_now()
    replay(provisioned, window, ["donation_platform"])

    whole = {row.check: row for row in reconcile(provisioned, window)}
    narrowed = {row.check: row for row in reconcile(provisioned, window, ["donation_platform"])}

    assert not whole["crm.donor_upserted"].ok  # archived, never landed: not replayed
    assert all(row.ok for row in narrowed.values()), narrowed
    assert "crm.donor_upserted" not in narrowed
    assert narrowed["donation.completed"].archive_count > 0
    assert narrowed[GIFTS].archive_count > 0


def test_records_the_archive_transform_failed_are_read_by_reconcile_and_trace(
    provisioned: Settings,
) -> None:
    records = corpus(seed=55, seconds=1)
    publish(provisioned, records)
    archive(provisioned)
    land(provisioned)
    build(provisioned)
    window = window_around_now()
    assert all(row.ok for row in reconcile(provisioned, window))
    gift = next(r for r in records if b'"event_type":"donation.completed"' in r.replace(b" ", b""))
    donation_id = json.loads(gift)["payload"]["donation_id"]

    # A gift the transform failed: Firehose files it under errors/, in no partition a replay reads.
    key = write_processing_failed(provisioned, [gift], datetime.now(UTC))

    rows = {row.check: row for row in reconcile(provisioned, window)}
    assert (rows[PROCESSING_FAILED].archive_count, rows[PROCESSING_FAILED].ok) == (1, False)
    runner = CliRunner()
    start, end = window.start.isoformat(), window.end.isoformat()
    shown = runner.invoke(app, ["reconcile", "--start", start, "--end", end], env=_env(provisioned))
    assert shown.exit_code == 1 and "errors/" in shown.output, shown.output

    found = trace(provisioned, donation_id)
    assert [(f.key, f.data) for f in found.failed] == [(key, gift)]
    traced = runner.invoke(app, ["trace", donation_id], env=_env(provisioned))
    assert traced.exit_code == 0 and "not archived" in traced.output, traced.output
    assert key in traced.output.replace("\n", "")


@pytest.mark.parametrize(
    "text",
    [
        '{"source": "crm"}',
        '{"source": "Crm"}',
        '{"source": "crm\\n"}',
        '{"source": "a' + "b" * 62 + '"}',
        '{"source": "a' + "b" * 63 + '"}',
        '{"source": true}',
        '{"source": 5}',
        '{"source": null}',
        '{"event_type": "donation.completed"}',
        '["crm"]',
        '"crm"',
        "not json",
        "",
    ],
)
def test_the_sql_source_rule_files_a_record_where_the_archive_does(text: str) -> None:
    with duckdb.connect() as con:
        (sql_source,) = con.execute(
            f"select {RECORD_SOURCE_SQL} from (select ? as kinesis_data)", [text]
        ).fetchone() or (None,)
    assert sql_source == record_source(text.encode())

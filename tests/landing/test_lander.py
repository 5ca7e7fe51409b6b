from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from botocore.exceptions import ClientError

from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.landing.lander import (
    LANDING_TABLE,
    POSITIONS_TABLE,
    StreamLander,
    StreamMismatch,
)
from ingestion.local import localaws
from ingestion.produce.publish import publish_records
from tests.kinesis.faults import FailingReads
from tests.streams import read_stream


def _publish(settings: Settings, n: int, *, garbage_every: int = 0) -> list[bytes]:
    records = [
        b"{not json" if garbage_every and i % garbage_every == 0 else b'{"n": %d}' % i
        for i in range(n)
    ]
    report = publish_records(settings, ((data, f"k{i % 31}") for i, data in enumerate(records)))
    assert report.ok
    return records


def _landed(settings: Settings) -> list[tuple[str, str, str]]:
    with warehouse.connect(settings.warehouse_path) as con:
        return con.execute(
            f"select shard_id, sequence_number, kinesis_data from {LANDING_TABLE}"
        ).fetchall()


def test_every_record_lands_with_its_stream_metadata_even_if_not_json(
    provisioned: Settings,
) -> None:
    sent = _publish(provisioned, 500, garbage_every=50)

    landed = StreamLander(provisioned, aws.client("kinesis", provisioned)).land_once()

    on_stream = {(shard, seq): data.decode() for shard, seq, data in read_stream(provisioned)}
    rows = _landed(provisioned)
    assert landed == 500
    assert {(shard, seq): text for shard, seq, text in rows} == on_stream
    assert Counter(text for _, _, text in rows)["{not json"] == 10
    with warehouse.connect(provisioned.warehouse_path) as con:
        nulls = con.execute(
            f"""select count(*) from {LANDING_TABLE}
            where approximate_arrival_timestamp is null or partition_key is null
               or refresh_time is null"""
        ).fetchone()
    assert nulls == (0,)
    assert sorted(sent) == sorted(text.encode() for _, _, text in rows)


def test_landing_again_lands_only_what_is_new(provisioned: Settings) -> None:
    kinesis = aws.client("kinesis", provisioned)
    _publish(provisioned, 300)
    assert StreamLander(provisioned, kinesis).land_once() == 300
    # A new lander knows where it stopped only from the landed rows.
    assert StreamLander(provisioned, kinesis).land_once() == 0
    _publish(provisioned, 40)
    assert StreamLander(provisioned, kinesis).land_once() == 40
    assert len(_landed(provisioned)) == 340


def test_a_failed_commit_lands_nothing_and_the_next_run_lands_it_once(
    provisioned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    kinesis = aws.client("kinesis", provisioned)
    _publish(provisioned, 2_000)
    lander = StreamLander(provisioned, kinesis, records_per_call=700)
    real_append = StreamLander._append
    appended = 0

    def crash_on_second_batch(self: StreamLander, shard_id: str, records: list[dict]) -> int:  # type: ignore[type-arg]
        nonlocal appended
        appended += 1
        if appended == 2:
            # The process dies between insert and commit: DuckDB rolls the transaction back.
            with warehouse.connect(provisioned.warehouse_path) as con:
                con.execute("begin")
                con.execute(f"insert into {LANDING_TABLE} select * from {LANDING_TABLE}")
                con.execute("rollback")
            raise RuntimeError("simulated crash")
        return real_append(self, shard_id, records)

    monkeypatch.setattr(StreamLander, "_append", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        lander.land_once()
    monkeypatch.undo()

    StreamLander(provisioned, kinesis).land_once()

    rows = _landed(provisioned)
    assert len(rows) == 2_000
    assert len({(shard, seq) for shard, seq, _ in rows}) == 2_000


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_POLL_INTERVAL_SECONDS": "0.1",
        "ACCFB_LOG_LEVEL": "INFO",
        # Small pages: many commits, so a kill lands mid-stream however fast the machine is.
        "ACCFB_LANDING_RECORDS_PER_CALL": "100",
    }


def _wait_for_line(process: subprocess.Popen[bytes], text: str, *, timeout: float) -> bool:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([process.stderr], [], [], left)
        line = process.stderr.readline() if ready else b""
        if text.encode() in line:
            return True
        if ready and not line:  # the process is gone
            return False
    return False


def _landed_count(path: Path) -> int:
    try:
        with warehouse.connect(path) as con:
            row = con.execute(f"select count(*) from {LANDING_TABLE}").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row else 0


def test_lander_killed_mid_run_and_restarted_loses_and_duplicates_nothing(
    provisioned: Settings,
) -> None:
    total = 40_000
    sent = _publish(provisioned, total, garbage_every=997)
    command = [sys.executable, "-m", "ingestion.cli", "ingest"]
    seen_progress = []
    for _ in range(3):
        # Unbuffered: select() then sees every line the lander wrote, none held in our buffer.
        process = subprocess.Popen(
            command,
            env=_env(provisioned),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        # Kill it hard as soon as it says it committed a page: mid-stream, mid-batch if we can.
        # Its log, not the warehouse, says so: polling the file would fight the lander for it.
        assert _wait_for_line(process, "committed", timeout=60), "the lander committed nothing"
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.stderr is not None
        process.stderr.close()
        seen_progress.append(_landed_count(provisioned.warehouse_path))

    subprocess.run([*command, "--once"], env=_env(provisioned), check=True, timeout=120)

    rows = _landed(provisioned)
    # Each restart resumed where the last kill left it and landed more, and none drained it.
    assert 0 < seen_progress[0] < seen_progress[1] < seen_progress[2] < total, seen_progress
    assert len(rows) == total
    assert len({(shard, seq) for shard, seq, _ in rows}) == total
    assert Counter(text.encode() for _, _, text in rows) == Counter(sent)


def test_a_failed_write_retried_on_the_same_lander_skips_nothing(
    provisioned: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = _publish(provisioned, 3_000)
    lander = StreamLander(provisioned, aws.client("kinesis", provisioned), records_per_call=500)
    append = StreamLander._append
    calls = {"n": 0}

    def failing_once(self: StreamLander, shard_id: str, records: list[dict[str, Any]]) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise duckdb.IOException("Could not set lock on file (injected)")
        return append(self, shard_id, records)

    monkeypatch.setattr(StreamLander, "_append", failing_once)
    with pytest.raises(duckdb.IOException):
        lander.land_once()
    lander.land_once()  # the retry, as `accfb ingest` and the demo loop do, on the same object

    rows = _landed(provisioned)
    assert len(rows) == len({(shard, seq) for shard, seq, _ in rows}) == 3_000
    assert Counter(text.encode() for _, _, text in rows) == Counter(sent)


def test_a_failed_read_retried_on_the_same_lander_skips_nothing(provisioned: Settings) -> None:
    sent = _publish(provisioned, 3_000)
    kinesis = FailingReads(aws.client("kinesis", provisioned), {3: "error"})
    lander = StreamLander(provisioned, kinesis, records_per_call=500)
    with pytest.raises(ClientError):
        lander.land_once()
    lander.land_once()

    rows = _landed(provisioned)
    assert len(rows) == len({(shard, seq) for shard, seq, _ in rows}) == 3_000
    assert Counter(text.encode() for _, _, text in rows) == Counter(sent)


def test_a_stale_second_lander_lands_nothing_twice(provisioned: Settings) -> None:
    sent = _publish(provisioned, 2_000)
    kinesis = aws.client("kinesis", provisioned)
    stale = StreamLander(provisioned, kinesis)
    stale._load_positions()  # it read the positions before the other lander ran
    assert StreamLander(provisioned, kinesis).land_once() == 2_000

    assert stale.land_once() == 0

    rows = _landed(provisioned)
    assert len(rows) == len({(shard, seq) for shard, seq, _ in rows}) == 2_000
    assert Counter(text.encode() for _, _, text in rows) == Counter(sent)


def test_a_recreated_stream_is_refused_instead_of_skipping_its_first_records(
    provisioned: Settings,
) -> None:
    _publish(provisioned, 300)
    kinesis = aws.client("kinesis", provisioned)
    StreamLander(provisioned, kinesis).land_once()
    # `accfb down` / `accfb up` with the warehouse kept: same name, a new stream numbering
    # its records from the start again.
    kinesis.delete_stream(StreamName=provisioned.stream_name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(
        StreamName=provisioned.stream_name, WaiterConfig={"Delay": 0.2}
    )
    localaws.provision(provisioned)
    _publish(provisioned, 50)

    with pytest.raises(StreamMismatch, match="the stream was recreated"):
        StreamLander(provisioned, kinesis).land_once()
    assert len(_landed(provisioned)) == 300  # nothing of the new stream was landed or lost


def test_a_clock_stepped_back_never_stamps_a_page_below_the_landed_cursor(
    provisioned: Settings,
) -> None:
    """`refresh_time` is the stream landing's cursor (models/landing/landed_records.sql). Pages
    stamped by a clock an hour fast, then a clock set right: a page stamped with the clock
    would sit below the cursor and never reach the models. The lander stamps each page past the
    newest committed stamp instead."""
    kinesis = aws.client("kinesis", provisioned)
    _publish(provisioned, 20)
    StreamLander(provisioned, kinesis).land_once()
    dbt.run_dbt(provisioned, ["run", "--select", "+landed_records"])
    with warehouse.connect(provisioned.warehouse_path) as con:
        for table in (LANDING_TABLE, POSITIONS_TABLE, "landing.landed_records"):
            columns = {
                c
                for (c,) in con.execute(f"select name from pragma_table_info('{table}')").fetchall()
            }
            if "refresh_time" in columns:
                con.execute(f"update {table} set refresh_time = refresh_time + interval 1 hour")

    _publish(provisioned, 7)
    assert StreamLander(provisioned, kinesis).land_once() == 7
    dbt.run_dbt(provisioned, ["run", "--select", "+landed_records"])

    with warehouse.connect(provisioned.warehouse_path) as con:
        history = con.execute("select count(*) from landing.landed_records").fetchone()
    assert history == (27,)


def test_a_page_waits_while_a_build_in_the_same_process_holds_the_turn(
    provisioned: Settings,
) -> None:
    # The demo builds while its lander follows the stream; the build's closing CHECKPOINT fails
    # if a page's write transaction is open at that moment.
    _publish(provisioned, 50)
    turn = threading.Lock()
    lander = StreamLander(provisioned, aws.client("kinesis", provisioned), turn=turn)
    with turn:
        worker = threading.Thread(target=lander.land_once)
        worker.start()
        worker.join(timeout=3)
        assert worker.is_alive()
        assert lander.stats.landed == 0
        with warehouse.connect(provisioned.warehouse_path) as con:
            con.execute("checkpoint")
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert len(_landed(provisioned)) == 50

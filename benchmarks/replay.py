"""Benchmark: replay throughput from the raw archive, beside a bare DuckDB scan of the same objects.

    .venv/bin/python benchmarks/replay.py --events 200000 [--repeat 3] [--no-rebuild]

Writes --events simulated events (padded to --event-bytes with words drawn at random, so gzip
compresses ~2.5x, not a run of one letter) into a fresh bucket in the archive's layout
(the archiver's own line and key functions, 4 shards, batches of 50,000), then times, --repeat
rounds in a row (each on fresh warehouses; the table shows medians, the machine being shared):

- a bare DuckDB scan of the objects (count and bytes of every line): the floor;
- dbt's start-up (import and parse), paid once per process;
- `load_window`: manifest, then the dbt run-operation that inserts the window into the backfill
  landing;
- `replay`: the load plus the streaming build of every model downstream, on a fresh warehouse.

The ratio of replay to the bare scan is the figure: what the load adds to reading the objects.
CPU seconds are this process's (DuckDB runs in it; the endpoint does not): steadier than wall
time when other work shares the cores.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from rich.console import Console
from rich.table import Table

from ingestion.archive.archiver import archive_record_line
from ingestion.archive.format import record_source
from ingestion.archive.keys import object_key
from ingestion.config import aws, dbt, s3_access, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import PROFILES, FaultRates, Phase, Simulator
from ingestion.local import localaws
from ingestion.replay.loads import load_window, replay, window_objects
from ingestion.replay.window import Window

SHARDS = 4
BATCH = 50_000

BARE_SCAN = "bare DuckDB scan of the objects"

T = TypeVar("T")


VOCABULARY = (
    "food pantry partner site delivery pallet produce dairy frozen canned volunteer shift donor "
    "campaign match gift recurring monthly refund processor payout oakland hayward fremont "
    "berkeley alameda livermore pleasanton union city san leandro emeryville"
)
WORDS = [w.encode() for w in VOCABULARY.split(" ")] + [str(n).encode() for n in range(1000)]


def _padded(data: bytes, size: int, rng: random.Random) -> bytes:
    missing = size - len(data) - len(b',"padding":""')
    if missing <= 0 or not (data.startswith(b"{") and data.endswith(b"}")):
        return data
    words = b" ".join(rng.choices(WORDS, k=missing // 4 + 1))[:missing]
    return data[:-1] + b',"padding":"' + words + b'"}'


def write_archive(settings: Settings, events: int, event_bytes: int, seed: int) -> tuple[int, int]:
    """Archive objects for ``events`` records; returns (records, raw bytes)."""
    s3: Any = aws.client("s3", settings)
    rng = random.Random(seed)
    arrival = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    profile = PROFILES["emergency"]
    seconds = events / profile.events_per_second
    simulated = Simulator(seed=seed, start=arrival, faults=FaultRates()).generate(
        [Phase(profile, seconds)]
    )
    batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
    written = raw = 0

    def flush(shard: str) -> None:
        records = batches.pop(shard, [])
        if not records:
            return
        first, last = records[0]["SequenceNumber"], records[-1]["SequenceNumber"]
        partitions: dict[tuple[str, datetime], list[bytes]] = defaultdict(list)
        for r in records:
            hour = r["ApproximateArrivalTimestamp"].replace(minute=0, second=0, microsecond=0)
            partitions[(record_source(r["Data"]), hour)].append(archive_record_line(shard, r))
        for (source, hour), lines in partitions.items():
            s3.put_object(
                Bucket=settings.raw_bucket,
                Key=object_key(source, hour, shard, first, last),
                Body=gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6),
                IfNoneMatch="*",
            )

    for n, record in enumerate(simulated):
        if n >= events:
            break
        shard = f"shardId-{n % SHARDS:012d}"
        data = _padded(record.data, event_bytes, rng)
        batches[shard].append(
            {
                "SequenceNumber": f"{49000000000000000000000000000000000000000000000000 + n:056d}",
                "ApproximateArrivalTimestamp": arrival + timedelta(microseconds=n * 100),
                "PartitionKey": partition_key(data) if data.startswith(b"{") else "x",
                "Data": data,
            }
        )
        written += 1
        raw += len(data)
        if len(batches[shard]) >= BATCH:
            flush(shard)
    for shard in list(batches):
        flush(shard)
    return written, raw


def bare_scan(settings: Settings, window: Window) -> tuple[int, int]:
    urls = [
        s3_access.s3_url(settings.raw_bucket, k.key)
        for k in window_objects(aws.client("s3", settings), settings.raw_bucket, window)
    ]
    con = duckdb.connect()
    s3_access.enable_s3(con, settings)
    row = con.execute(
        """
        select count(*), sum(strlen(kinesis_data))
        from read_json(?, format = 'newline_delimited', compression = 'gzip',
            columns = {approximate_arrival_timestamp: 'timestamptz', partition_key: 'varchar',
                shard_id: 'varchar', sequence_number: 'varchar', kinesis_data: 'varchar'})
        """,
        [urls],
    ).fetchone()
    con.close()
    assert row is not None
    return int(row[0]), int(row[1])


def timed(call: Callable[[], T]) -> tuple[T, float, float]:
    """``call()``'s result, wall seconds and this process's CPU seconds (all threads)."""
    wall, cpu = time.monotonic(), time.process_time()
    result = call()
    return result, time.monotonic() - wall, time.process_time() - cpu


def remove_warehouse(path: Path) -> None:
    for file in (path, path.with_name(path.name + ".wal")):
        file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--event-bytes", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the table shows medians")
    parser.add_argument(
        "--rebuild",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time a replay with the model rebuild (~40 s a round)",
    )
    args = parser.parse_args()

    os.environ.setdefault("ACCFB_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    base = Settings.from_environment()
    run_id = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    settings = base.model_copy(
        update={
            "raw_bucket": f"bench-replay-{run_id}",
            "stream_name": f"bench-replay-{run_id}",
            # One path for every round, as dbt parsed it: another path is another profile,
            # which dbt answers with a full parse inside the timed load.
            "warehouse_path": base.state_dir / "bench" / f"replay-{run_id}.duckdb",
        }
    )
    localaws.ensure_up(settings)
    console = Console()
    started = time.monotonic()
    events, raw_bytes = write_archive(settings, args.events, args.event_bytes, args.seed)
    elapsed = time.monotonic() - started
    console.print(f"archived {events:,} events ({raw_bytes / 1e6:,.0f} MB) in {elapsed:.1f} s")
    window = Window(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))

    # step -> one (events, wall seconds, CPU seconds) per round
    rounds: dict[str, list[tuple[int, float, float]]] = defaultdict(list)
    objects = 0
    for round_number in range(args.repeat):
        measured: dict[str, tuple[int, float, float]] = {}
        (scanned, _), wall, cpu = timed(partial(bare_scan, settings, window))
        measured[BARE_SCAN] = (scanned, wall, cpu)

        if round_number == 0:
            # dbt's import and project parse are paid once per process (Airflow worker, CLI).
            _, wall, cpu = timed(partial(dbt.run_dbt, settings, ["parse"]))
            measured["dbt start-up (once per process)"] = (0, wall, cpu)

        loaded, wall, cpu = timed(partial(load_window, settings, window))
        measured["replay load → backfill landing"] = (loaded.loaded or 0, wall, cpu)
        objects = loaded.objects
        # dbt keeps the warehouse open in this process, so removing the file would not empty
        # it: the next round loads into an emptied landing instead.
        with warehouse.connect(settings.warehouse_path) as con:
            con.execute("drop table lander.backfill_records")

        if args.rebuild:
            # A fresh warehouse per round, with its own dbt state, parsed before the clock
            # starts (another warehouse path is another profile to dbt).
            fresh = settings.model_copy(
                update={
                    "warehouse_path": base.state_dir
                    / "bench"
                    / f"replay-{run_id}-full-{round_number}.duckdb",
                    "state_dir": base.state_dir / "bench" / f"replay-{run_id}-full",
                }
            )
            dbt.run_dbt(fresh, ["parse"])
            full, wall, cpu = timed(partial(replay, fresh, window))
            measured["replay + model rebuild"] = (full.loaded or 0, wall, cpu)
            remove_warehouse(fresh.warehouse_path)

        short = [step for step, (count, _, _) in measured.items() if count and count != events]
        if short:
            raise SystemExit(f"round {round_number + 1} did not load every event: {short}")

        for step, result in measured.items():
            rounds[step].append(result)
        console.print(
            f"round {round_number + 1}: "
            + ", ".join(f"{step} {wall:.2f} s" for step, (_, wall, _) in measured.items())
        )

    remove_warehouse(settings.warehouse_path)

    table = Table(
        title=f"Replay benchmark: {events:,} events of ~{args.event_bytes:,} B, "
        f"{objects} archive objects, median of {args.repeat} round(s)"
    )
    for column in ("step", "events", "seconds", "CPU s", "events/s", "MB/s", "vs bare scan"):
        table.add_column(column, justify="left" if column == "step" else "right")
    bare_seconds = statistics.median(wall for _, wall, _ in rounds[BARE_SCAN])
    for step, measured in rounds.items():
        count = measured[0][0]
        seconds = statistics.median(wall for _, wall, _ in measured)
        cpu_seconds = statistics.median(cpu for _, _, cpu in measured)
        rate = f"{count / seconds:,.0f}" if count else ""
        megabytes = f"{raw_bytes * count / events / seconds / 1e6:,.0f}" if count else ""
        table.add_row(
            step,
            f"{count:,}" if count else "",
            f"{seconds:.2f}",
            f"{cpu_seconds:.2f}",
            rate,
            megabytes,
            f"{seconds / bare_seconds:.1f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()

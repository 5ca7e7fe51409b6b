"""Benchmark: does a refresh cost the new data, not the history?

    .venv/bin/python benchmarks/history_scaling.py                      # 1M and 10M events
    .venv/bin/python benchmarks/history_scaling.py --history 200000 1000000 --repeats 1

For each history size it builds a warehouse of that many landed events quickly: a template of
simulated records (campaign profile, production fault rates, ~550-byte payloads) is bulk-inserted
straight into the landing table (`lander.kinesis_records`, as the lander writes it), not through
the endpoint, as many times as needed, each copy with its own ids (the fourth group of every UUID
in the record is the copy's number, so a refund still names its copy's gift) and its own stream
positions. The history is built by `dbt build`s of a million events at a time (timed, but not a
target), then published to the serving copy twice (both generations written whole, untimed
in the table, printed). Then, `--repeats` times each, in this order, it times one whole
minute in-process (`run_minute`, what the refresh DAG's one task runs: land from the local
endpoint's stream, dbt build of the models and the batch-bounded tests, the serving copy's
incremental publish, the figures, metrics and alerts). Every history is built before the first
minute is timed; with `--time-when FILE` the timing waits until that file exists, so the long
untimed builds may share the machine and the timed part runs alone:

- with nothing new (the refresh's fixed cost),
- after a normal minute landed (48,000 events: 800/s),
- after a peak minute landed (480,000 events: 8,000/s).

The minutes are simulated a day after the history, and each repeat lands another copy of the
same minute (new ids and positions) an hour after the one before (every time in it that falls
in the minute's hour moves), so every size times the same new data, and no minute's events share
their emitted_at window with another's, as no two real minutes do. The minute's events are
inserted into the landing table before the clock starts (the stream stays empty, so the
minute's land step is the lander's poll of an empty stream, resuming from the positions of
one record sent through it before the timing). It prints one table of medians
(min-max in brackets) and the ratio of the largest history's medians to the smallest's, a
table of the minutes' steps, then, per minute, the dbt nodes whose median time grew most
between those histories (from each refresh's run_results.json). It starts its own local
endpoint on a free loopback port. Warehouses live in a temporary directory (`--dir` to choose;
10M events take ~15 GB).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from ingestion.config import dbt, warehouse
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.landing.lander import ensure_landing_table
from ingestion.local import localaws
from ingestion.operations.refresh import run_minute
from ingestion.produce.publish import publish_records

HISTORY_START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
MINUTE_START = HISTORY_START + timedelta(days=1)
NORMAL_MINUTE = 48_000
PEAK_MINUTE = 480_000
HISTORY_CHUNK = 1_000_000
SHARDS = 4
# The fourth group of a UUID: the copy's number goes there (up to 65,536 copies of a template).
UUID_GROUP = "([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-)[0-9a-f]{4}(-[0-9a-f]{12})"
# A processor's transaction ids are not UUIDs: each copy prefixes its number, or every copy of a
# gift would name the same transaction and reconciliation would read all of them.
PROCESSOR_TXN = '("processor_txn_id":")'


def _records(start: datetime, count: int, seed: int) -> list[bytes]:
    records: list[bytes] = []
    simulator = Simulator(seed=seed, start=start, faults=FaultRates())
    # The campaign profile sends ~3,000 events a simulated second.
    for record in simulator.generate(steady("campaign", count / 2_000)):
        records.append(record.data)
        if len(records) == count:
            return records
    raise RuntimeError(f"the simulator made {len(records)} records, not {count}")


def _template_table(records: list[bytes], start: datetime) -> pa.Table:
    return pa.table(
        {
            "position": pa.array(range(len(records)), pa.int64()),
            "arrived_at": pa.array(
                [start + timedelta(microseconds=i * 50) for i in range(len(records))],
                pa.timestamp("us", tz="UTC"),
            ),
            "kinesis_data": pa.array([r.decode("utf-8", "replace") for r in records]),
        }
    )


class Landing:
    """Bulk inserts into the warehouse's landing table, each copy with new ids and positions."""

    def __init__(self, path: Path, shard_prefix: str = "shardId-") -> None:
        """``shard_prefix``: other than a real stream's, when the lander will follow one, so the
        history's made-up positions are not taken for that stream's."""
        self._path = path
        self._shard_prefix = shard_prefix
        self._copies = 0
        self._positions = 0

    def insert(self, template: pa.Table, copies: int, hours_later: int = 0) -> int:
        """`hours_later`: move the template's times in the minute's hour that many hours on."""
        first = self._copies + 1
        hour = f"{MINUTE_START:%Y-%m-%dT%H}:"
        later = f"{MINUTE_START + timedelta(hours=hours_later):%Y-%m-%dT%H}:"
        with warehouse.connect(self._path) as con:
            ensure_landing_table(con)
            con.register("template", template)
            con.execute(
                f"""
                insert into lander.kinesis_records
                select
                    template.arrived_at + to_microseconds(copy.n * 37) + to_hours($hours),
                    'pk-' || cast(template.position % 1000 as varchar),
                    $shard_prefix
                    || lpad(cast(template.position % {SHARDS} as varchar), 12, '0'),
                    lpad(cast($base + copy.n * $rows + template.position as varchar), 56, '0'),
                    now(),
                    replace(
                        regexp_replace(
                            regexp_replace(
                                template.kinesis_data,
                                '{UUID_GROUP}',
                                '\\1' || lpad(lower(hex(copy.n)), 4, '0') || '\\2',
                                'g'
                            ),
                            '{PROCESSOR_TXN}',
                            '\\1' || lower(hex(copy.n)) || '-',
                            'g'
                        ),
                        $hour,
                        $later
                    )
                from template
                cross join (select range as n from range($first, $last)) as copy
                """,
                {
                    "base": self._positions,
                    "rows": template.num_rows,
                    "first": first,
                    "last": first + copies,
                    "hours": hours_later,
                    "hour": hour,
                    "later": later,
                    "shard_prefix": self._shard_prefix,
                },
            )
            con.unregister("template")
        rows = copies * int(template.num_rows)
        self._copies += copies
        self._positions += rows
        return rows


@dataclass
class Measured:
    events: int
    build: float
    idle: list[float]
    idle_dbt: list[float]
    normal: list[float]
    peak: list[float]
    # Seconds each dbt node (model, test, hook) took, one dict per timed refresh of a minute.
    nodes: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {"normal": [], "peak": []}
    )
    # Seconds per step of the minute (land, build, publish, checks and metrics), per refresh.
    steps: dict[str, list[dict[str, float]]] = field(
        default_factory=lambda: {"idle": [], "normal": [], "peak": []}
    )
    first_publish: float = 0.0


def _build(settings: Settings) -> float:
    started = time.perf_counter()
    dbt.build_streaming_models(settings)
    return time.perf_counter() - started


def _minute(settings: Settings, steps: list[dict[str, float]]) -> float:
    """One whole minute, as the refresh DAG's task runs it; wall seconds."""
    started = time.perf_counter()
    report = run_minute(settings)
    steps.append(dict(report.seconds))
    return time.perf_counter() - started


def _node_times(settings: Settings) -> dict[str, float]:
    """The last dbt invocation's time per node, from its run_results.json."""
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    return {
        node["unique_id"].replace(".accfb.", ".", 1): node["execution_time"]
        for node in results["results"]
    }


def _forced_build(settings: Settings) -> float:
    """dbt's build with nothing new, as the refresh would select it: what the refresh skips
    (ingestion/landing/state.py)."""
    from ingestion.landing import state as landing_state

    started = time.perf_counter()
    selection = dbt.streaming_selection(settings, landing_state.fingerprint(settings))
    dbt.run_dbt(settings, ["build", "--select", selection])
    return time.perf_counter() - started


def _prepare(
    root: Path, size: int, templates: dict[str, pa.Table], endpoint: Settings
) -> tuple[Settings, Landing, Measured]:
    """A warehouse of ``size`` events of history, built and published: untimed."""
    settings = warehouse_beside(endpoint, root, f"history-{size}")
    landing = Landing(settings.warehouse_path, shard_prefix="history-shardId-")
    copies = -(-size // templates["history"].num_rows)
    # In chunks of at most a million events, each built before the next lands: one build of
    # ten million at once needed more memory than this machine's 23 GB.
    chunk = max(1, HISTORY_CHUNK // templates["history"].num_rows)
    events, inserted, build = 0, 0.0, 0.0
    for first in range(0, copies, chunk):
        started = time.perf_counter()
        events += landing.insert(templates["history"], min(chunk, copies - first))
        inserted += time.perf_counter() - started
        build += _build(settings)
    print(f"{events:,} events: inserted in {inserted:.0f} s, built in {build:.0f} s", flush=True)
    measured = Measured(events, build, [], [], [], [])
    # One record through the stream, landed by the first minute below, so the lander holds
    # positions in the stream as it does in production (with none, it takes them from the
    # whole landing table, once per minute: a cost of this benchmark, not of the pipeline).
    (record,) = _records(HISTORY_START, 1, seed=99)
    assert publish_records(settings, [(record, partition_key(record))]).ok
    # The serving copy's two generations, each written whole once: not a minute's cost.
    started = time.perf_counter()
    _minute(settings, [])
    _minute(settings, [])
    measured.first_publish = time.perf_counter() - started
    print(f"  first two publishes (whole): {measured.first_publish:.1f} s", flush=True)
    return settings, landing, measured


def _measure(
    settings: Settings,
    landing: Landing,
    measured: Measured,
    templates: dict[str, pa.Table],
    repeats: int,
    minutes: list[str],
) -> Measured:
    print(f"{measured.events:,} events of history:", flush=True)
    minutes_landed = 0
    for _ in range(repeats):
        measured.idle.append(_minute(settings, measured.steps["idle"]))
        measured.idle_dbt.append(_forced_build(settings))
        if "normal" in minutes:
            landing.insert(templates["normal"], 1, hours_later=minutes_landed)
            minutes_landed += 1
            measured.normal.append(_minute(settings, measured.steps["normal"]))
            measured.nodes["normal"].append(_node_times(settings))
        if "peak" in minutes:
            landing.insert(templates["peak"], 1, hours_later=minutes_landed)
            minutes_landed += 1
            measured.peak.append(_minute(settings, measured.steps["peak"]))
            measured.nodes["peak"].append(_node_times(settings))
        print(
            f"  refresh: nothing new {measured.idle[-1]:.1f} s "
            f"(dbt forced {measured.idle_dbt[-1]:.1f} s), "
            f"normal {_cell(measured.normal[-1:])} s, peak {_cell(measured.peak[-1:])} s",
            flush=True,
        )
    print(f"  warehouse file {settings.warehouse_path.stat().st_size / 1e9:.1f} GB", flush=True)
    settings.warehouse_path.unlink()
    return measured


def _cell(times: list[float]) -> str:
    if not times:
        return "-"
    if len(times) == 1:
        return f"{times[0]:.1f}"
    return f"{statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f})"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--template", type=int, default=200_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument(
        "--minutes", nargs="+", choices=["normal", "peak"], default=["normal", "peak"]
    )
    parser.add_argument("--time-when", type=Path, default=None, help=TIME_WHEN)
    args = parser.parse_args()
    os.environ.update(TELEMETRY_OFF)
    # `kill` (SIGTERM) stops the endpoint and removes the warehouses too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)

    started = time.perf_counter()
    sizes = {"normal": NORMAL_MINUTE, "peak": PEAK_MINUTE}
    templates = {
        "history": _template_table(_records(HISTORY_START, args.template, seed=1), HISTORY_START),
        **{
            minute: _template_table(_records(MINUTE_START, sizes[minute], seed=n), MINUTE_START)
            for n, minute in enumerate(args.minutes, start=2)
        },
    }
    print(f"simulated the templates in {time.perf_counter() - started:.0f} s", flush=True)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        endpoint = Settings(
            aws_endpoint_url=f"http://127.0.0.1:{_free_port()}", state_dir=Path(tmp) / "endpoint"
        )
        localaws.start_endpoint(endpoint)
        try:
            prepared = [
                _prepare(Path(tmp) / f"history-{size}", size, templates, endpoint)
                for size in args.history
            ]
            wait_for(args.time_when)
            rows = [_measure(*ready, templates, args.repeats, args.minutes) for ready in prepared]
        finally:
            localaws.stop_endpoint(endpoint)

    print()
    print(
        "| history (events) | history build s | minute, nothing new s | nothing new, dbt forced s "
        "| normal minute (48k) s | peak minute (480k) s |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row.events:,} | {row.build:.0f} | {_cell(row.idle)} | {_cell(row.idle_dbt)} "
            f"| {_cell(row.normal)} "
            f"| {_cell(row.peak)} |"
        )
    if len(rows) > 1:
        small, large = rows[0], rows[-1]

        def ratio(times: Callable[[Measured], list[float]]) -> str:
            # A refresh that skipped dbt takes milliseconds: no ratio of those says anything.
            if not times(small) or statistics.median(times(small)) < 0.5:
                return "-"
            return f"{statistics.median(times(large)) / statistics.median(times(small)):.2f}"

        print(
            f"| ratio {large.events:,} / {small.events:,} | | {ratio(lambda r: r.idle)} "
            f"| {ratio(lambda r: r.idle_dbt)} "
            f"| {ratio(lambda r: r.normal)} | {ratio(lambda r: r.peak)} |"
        )
    print(
        "medians of",
        args.repeats,
        "(min-max); the whole minute: land, build, publish, checks and metrics",
    )
    _print_steps(rows, args.minutes)
    if len(rows) > 1:
        for minute in args.minutes:
            _print_growth(rows[0], rows[-1], minute)


def _print_steps(rows: list[Measured], minutes: list[str]) -> None:
    """Median seconds per step of the minute, per history and kind of minute."""
    steps = ("land", "build", "publish", "checks and metrics")
    print()
    print("| history (events) | minute | " + " | ".join(f"{s} s" for s in steps) + " |")
    print("|---:|---|" + "---:|" * len(steps))
    for row in rows:
        for kind in ["idle", *minutes]:
            runs = row.steps[kind]
            if not runs:
                continue
            cells = [_cell([run.get(step, 0.0) for run in runs]) for step in steps]
            print(f"| {row.events:,} | {kind} | " + " | ".join(cells) + " |")


def warehouse_beside(endpoint: Settings, root: Path, name: str) -> Settings:
    """Settings for a warehouse under ``root`` with its own stream and bucket on the endpoint."""
    settings = endpoint.model_copy(
        update={
            "state_dir": root / "state",
            "warehouse_path": root / "warehouse.duckdb",
            "stream_name": name,
            "raw_bucket": name,
        }
    )
    localaws.provision(settings)
    return settings


TIME_WHEN = (
    "build every history first, then time only once this file exists: the untimed builds may "
    "share the machine, the timed part then runs alone"
)


def wait_for(path: Path | None) -> None:
    if path is None:
        return
    print(f"histories built; timing starts when {path} exists", flush=True)
    while not path.exists():
        time.sleep(2)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _print_growth(small: Measured, large: Measured, minute: str, top: int = 12) -> None:
    """The nodes whose median time grew most from the smallest history to the largest: where
    a minute's cost still follows the history."""

    def medians(row: Measured) -> dict[str, float]:
        runs = row.nodes[minute]
        return {node: statistics.median(run.get(node, 0.0) for run in runs) for node in runs[-1]}

    before, after = medians(small), medians(large)
    growth = sorted(after, key=lambda node: after[node] - before.get(node, 0.0), reverse=True)
    print()
    print(f"| {minute} minute: node | {small.events:,} s | {large.events:,} s | growth s |")
    print("|---|---:|---:|---:|")
    for node in growth[:top]:
        print(
            f"| {node} | {before.get(node, 0.0):.2f} | {after[node]:.2f} "
            f"| {after[node] - before.get(node, 0.0):+.2f} |"
        )
    print(
        f"| all nodes (both threads) | {sum(before.values()):.1f} | {sum(after.values()):.1f} "
        f"| {sum(after.values()) - sum(before.values()):+.1f} |"
    )


if __name__ == "__main__":
    main()

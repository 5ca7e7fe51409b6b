"""Benchmark: one `accfb refresh` of ~1,000 new records, end to end through the command line,
on a small warehouse and on one with millions of events of history.

    .venv/bin/python benchmarks/refresh_latency.py                      # 3,000 and 2,000,000
    .venv/bin/python benchmarks/refresh_latency.py --history 3000 200000 --repeats 1

It starts its own local endpoint on a free loopback port. For each history size it builds a
warehouse of that many landed events as `history_scaling.py` does (a simulated template
bulk-inserted into the landing table, built a million at a time), runs `accfb refresh` twice
untimed (the serving copy's two generations are written whole once); once every history is
ready (and, with `--time-when FILE`, that file exists), `--repeats` times each:
puts ~1,000 new simulated records on the stream and times `accfb refresh` as a user runs it (a
new process: imports, landing, dbt build, publish, figures and metrics). It prints the median
wall seconds (min-max) per history, the ratio of the largest to the smallest, and the steps the
command reports.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from history_scaling import (
    HISTORY_START,
    TIME_WHEN,
    Landing,
    _build,
    _free_port,
    _records,
    _template_table,
    wait_for,
    warehouse_beside,
)

from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.local import localaws
from ingestion.produce.publish import publish_records

ACCFB = str(Path(sys.executable).parent / "accfb")
HISTORY_CHUNK = 1_000_000
_STEP = re.compile(r"(land|build|publish|checks and metrics) ([0-9.]+) s")
_LANDED = re.compile(r"landed ([0-9,]+) records")


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        **TELEMETRY_OFF,
        "ACCFB_ENVIRONMENT": "local",
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
        # One line per message: the steps are parsed from the command's own report.
        "COLUMNS": "1000",
    }


def _refresh(settings: Settings) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run([ACCFB, "refresh"], env=_env(settings), capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"accfb refresh failed:\n{done.stdout}\n{done.stderr}")
    steps = {step: float(s) for step, s in _STEP.findall(done.stdout)}
    steps["landed"] = float(_LANDED.search(done.stdout).group(1).replace(",", ""))  # type: ignore[union-attr]
    return wall, steps


def _history(settings: Settings, size: int, template_size: int) -> None:
    """Run in a child process: dbt in-process holds the warehouse file for the life of its
    process, and `accfb refresh` must open it next."""
    os.environ.update(TELEMETRY_OFF)
    template = _template_table(_records(HISTORY_START, template_size, seed=1), HISTORY_START)
    landing = Landing(settings.warehouse_path, shard_prefix="history-shardId-")
    copies = -(-size // template.num_rows)
    chunk = max(1, HISTORY_CHUNK // template.num_rows)
    for first in range(0, copies, chunk):
        landing.insert(template, min(chunk, copies - first))
        _build(settings)


def _new_records(settings: Settings, count: int, seed: int) -> int:
    records = _records(datetime.now(UTC), count, seed=seed)
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    return int(report.accepted)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history", type=int, nargs="+", default=[3_000, 2_000_000])
    parser.add_argument("--records", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--time-when", type=Path, default=None, help=TIME_WHEN)
    args = parser.parse_args()
    os.environ.update(TELEMETRY_OFF)
    # `kill` (SIGTERM) stops the endpoint too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)

    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        endpoint = Settings(
            aws_endpoint_url=f"http://127.0.0.1:{_free_port()}", state_dir=Path(tmp) / "endpoint"
        )
        localaws.start_endpoint(endpoint)
        try:
            prepared = {}
            for size in args.history:
                root = Path(tmp) / f"history-{size}"
                settings = warehouse_beside(endpoint, root, f"refresh-{size}")
                started = time.perf_counter()
                builder = multiprocessing.get_context("spawn").Process(
                    target=_history, args=(settings, size, min(size, 200_000))
                )
                builder.start()
                builder.join()
                if builder.exitcode:
                    raise SystemExit(f"building {size:,} events of history failed")
                _refresh(settings)
                _refresh(settings)
                print(f"{size:,} events of history ready in {time.perf_counter() - started:.0f} s")
                prepared[size] = settings
            wait_for(args.time_when)
            for size, settings in prepared.items():
                walls, steps = [], []
                for repeat in range(args.repeats):
                    accepted = _new_records(settings, args.records, seed=100 + repeat)
                    wall, step = _refresh(settings)
                    walls.append(wall)
                    steps.append(step)
                    landed = int(step.pop("landed"))
                    steps_text = ", ".join(f"{name} {sec:.1f} s" for name, sec in step.items())
                    print(
                        f"  {accepted:,} new records, {landed:,} landed: "
                        f"accfb refresh {wall:.1f} s ({steps_text})"
                    )
                rows.append((size, walls, steps))
                settings.warehouse_path.unlink()
        finally:
            localaws.stop_endpoint(endpoint)

    def cell(values: list[float]) -> str:
        if len(values) == 1:
            return f"{values[0]:.1f}"
        return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"

    names = ("land", "build", "publish", "checks and metrics")
    print()
    print(
        f"| history (events) | accfb refresh of ~{args.records:,} records s | "
        + " | ".join(f"{n} s" for n in names)
        + " |"
    )
    print("|---:|---:|" + "---:|" * len(names))
    for size, walls, steps in rows:
        parts = [cell([s.get(n, 0.0) for s in steps]) for n in names]
        print(f"| {size:,} | {cell(walls)} | " + " | ".join(parts) + " |")
    if len(rows) > 1:
        ratio = statistics.median(rows[-1][1]) / statistics.median(rows[0][1])
        print(f"| ratio {rows[-1][0]:,} / {rows[0][0]:,} | {ratio:.2f} |")
    print(
        f"medians of {args.repeats} (min-max); wall seconds of the command, process start "
        "included; the steps are what it reports (the rest is start-up and imports)"
    )


if __name__ == "__main__":
    main()

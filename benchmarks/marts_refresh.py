"""Benchmark: one streaming refresh through every mart, with history already loaded.

    .venv/bin/python benchmarks/marts_refresh.py --history-seconds 17 --new-seconds 1

A simulated corpus (campaign profile, ~3,000 events/s of simulated time) goes through the real
path: producer → a private local endpoint (a free loopback port) → lander → DuckDB. The history
is built first; then the new events land and one refresh (`dbt build --select @stream_events`,
models and the tests bounded by the new batch) is timed, and again with nothing new (skipped:
ingestion/landing/state.py). For millions of events of history, benchmarks/history_scaling.py.
The history's landing times are moved a day back before it is built, as if it had landed over
the past day (the cursor is the landing batch, so this changes nothing the refresh reads).
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ingestion.config import aws, dbt, warehouse
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.landing.lander import StreamLander
from ingestion.local import localaws
from ingestion.produce.publish import publish_records


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _land(settings: Settings, records: list[bytes]) -> None:
    report = publish_records(settings, ((r, partition_key(r)) for r in records))
    if not report.ok:
        raise RuntimeError(f"publish failed: {report.failed[:3]}")
    StreamLander(settings, aws.client("kinesis", settings)).land_once()


def _timed_refresh(settings: Settings) -> float:
    started = time.perf_counter()
    dbt.build_streaming_models(settings)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--history-seconds", type=float, default=17)
    parser.add_argument("--new-seconds", type=float, default=1)
    args = parser.parse_args()
    os.environ.update(TELEMETRY_OFF)

    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    simulator = Simulator(seed=11, start=start, faults=FaultRates())
    records = [
        r.data
        for r in simulator.generate(steady("campaign", args.history_seconds + args.new_seconds))
    ]
    cut = int(len(records) * args.history_seconds / (args.history_seconds + args.new_seconds))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            aws_endpoint_url=f"http://127.0.0.1:{_free_port()}",
            state_dir=Path(tmp) / "state",
            warehouse_path=Path(tmp) / "warehouse.duckdb",
            stream_name="bench-marts",
            raw_bucket="bench-marts",
            stream_shards=2,
        )
        localaws.start_endpoint(settings)
        try:
            localaws.provision(settings)
            _land(settings, records[:cut])
            with warehouse.connect(settings.warehouse_path) as con:
                con.execute(
                    "update lander.kinesis_records set refresh_time = refresh_time - interval 1 day"
                )
            history = _timed_refresh(settings)
            _land(settings, records[cut:])
            new = _timed_refresh(settings)
            idle = _timed_refresh(settings)
        finally:
            localaws.stop_endpoint(settings)
    print("| step | events | seconds |")
    print("|---|---:|---:|")
    print(f"| first build of the history | {cut:,} | {history:.1f} |")
    print(f"| refresh with new events | {len(records) - cut:,} | {new:.1f} |")
    print(f"| refresh with nothing new | 0 | {idle:.1f} |")


if __name__ == "__main__":
    main()

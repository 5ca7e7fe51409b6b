"""Benchmark: what the producers' per-record refusal checks cost (issue 12).

    .venv/bin/python benchmarks/record_checks.py [--seconds 2] [--repeat 5]

Every record a producer puts goes through ``Record.unsendable()`` (ingestion/kinesis/batcher.py):
the contract's size limit and, since Redshift cannot see a repeated JSON key, one parse of the
record looking for one (``validation.repeated_key``). Over simulated campaign traffic (the
simulator's own records), the table gives the median CPU microseconds per record of each check
and what that is at the 8,000 events/s spike; process CPU time, steadier than wall time on a
shared machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from ingestion.contract.validation import repeated_key
from ingestion.demo.simulator import Simulator, steady
from ingestion.kinesis.batcher import Record

SPIKE_EVENTS_PER_SECOND = 8_000


def _cpu_us_per_record(check: Callable[[], object], records: int, repeat: int) -> float:
    rounds = []
    for _ in range(repeat):
        started = time.process_time()
        check()
        rounds.append((time.process_time() - started) / records * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    start = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
    data = [
        r.data for r in Simulator(seed=1, start=start).generate(steady("campaign", args.seconds))
    ]
    records = [Record(d, "k") for d in data]
    checks: dict[str, Callable[[], object]] = {
        "repeated_key (one parse)": lambda: [repeated_key(d) for d in data],
        "unsendable (size + repeat)": lambda: [r.unsendable() for r in records],
    }
    table = Table(
        title=f"{len(data):,} records, median {statistics.median(map(len, data)):.0f} bytes, "
        f"{args.repeat} rounds"
    )
    for column in (
        "check",
        "CPU µs / record",
        f"CPU share of a core at {SPIKE_EVENTS_PER_SECOND:,}/s",
    ):
        table.add_column(column, justify="left" if column == "check" else "right")
    for name, check in checks.items():
        us = _cpu_us_per_record(check, len(data), args.repeat)
        table.add_row(name, f"{us:.1f}", f"{us * SPIKE_EVENTS_PER_SECOND / 1e6:.1%}")
    Console().print(table)


if __name__ == "__main__":
    main()

"""One whole local run: simulated sources → stream → landing → dbt, at the schedule's pace.

`accfb demo` and the benchmark drive this. Four threads: the producer sends simulated
traffic at its scheduled pace, the lander follows the stream (as Redshift's streaming ingestion
does), the archiver copies it to the raw bucket (Firehose's local stand-in, the replay source),
and the caller's thread runs the refresh DAG's minute (``run_minute``: land what is left, build,
publish, measure, alert) on the refresh cadence. They meet only at the stream, the bucket and
the warehouse file.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import psutil

from ingestion.archive.archiver import StreamArchiver
from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.demo.simulator import FaultRates, Phase, SimRecord, Simulator
from ingestion.demo.simulator.truth import Expected, expected_outcome
from ingestion.landing.lander import StreamLander
from ingestion.local import localaws
from ingestion.operations import refresh
from ingestion.produce import dead_letters
from ingestion.produce.producer import KinesisProducer, ProduceReport
from ingestion.produce.publish import publish_paced

# How often the archiver writes during a run (Firehose's buffer interval plays this part in AWS).
ARCHIVE_BUFFER_SECONDS = 10.0


@dataclass
class RunProgress:
    """Live counters; read by the progress display while the run goes on."""

    started: float = field(default_factory=time.monotonic)
    generated: int = 0
    landed: int = 0
    archived: int = 0
    refreshes: int = 0
    last_refresh_seconds: float | None = None
    refresh_seconds: list[float] = field(default_factory=list)
    producing: bool = True
    # Seconds each record went out after its scheduled emitted_at, one sample per 100 records:
    # how far the producer fell behind the sources it simulates.
    send_lag_samples: list[float] = field(default_factory=list)
    peak_rss_bytes: int = 0


@dataclass(frozen=True)
class RunResult:
    produce: ProduceReport
    progress: RunProgress
    produce_seconds: float
    expected: Expected


def pad_record(record: SimRecord, size: int) -> SimRecord:
    """Grow a JSON object record to about ``size`` bytes with an extra envelope field.

    The simulator's events average ~510 bytes; production events are 1-4 KB. Unknown envelope
    fields are part of the contract (kept, never rejected), so padding changes only the size.
    """
    data = record.data
    missing = size - len(data) - len(b',"padding":""')
    if missing <= 0 or not (data.startswith(b"{") and data.endswith(b"}")):
        return record
    return replace(record, data=data[:-1] + b',"padding":"' + b"x" * missing + b'"}')


def _rss_of_pipeline(settings: Settings) -> int:
    """Resident memory of this process, its children and the local endpoint, however started."""
    me = psutil.Process()
    processes = {me.pid: me, **{p.pid: p for p in me.children(recursive=True)}}
    if settings.is_local:
        pid_file = localaws.Endpoint.from_settings(settings).pid_file(settings)
        with contextlib.suppress(OSError, ValueError, psutil.Error):
            pid = int(pid_file.read_text())
            processes.setdefault(pid, psutil.Process(pid))
    total = 0
    for process in processes.values():
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


class PipelineRun:
    def __init__(
        self,
        settings: Settings,
        *,
        schedule: Sequence[Phase],
        seed: int,
        faults: FaultRates,
        refresh_interval_seconds: float,
        pad_to_bytes: int = 0,
    ) -> None:
        self.settings = settings
        self.schedule = list(schedule)
        self.seed = seed
        self.faults = faults
        self.refresh_interval = refresh_interval_seconds
        self.pad_to_bytes = pad_to_bytes
        self.progress = RunProgress()
        self._stop_landing = threading.Event()
        # The lander and the build share the warehouse in this process: one writes at a time.
        self._warehouse_turn = threading.Lock()
        self._archiver: StreamArchiver | None = None
        self._start = datetime.now(UTC)

    def _records(self) -> Iterator[SimRecord]:
        records = Simulator(seed=self.seed, start=self._start, faults=self.faults).generate(
            self.schedule
        )
        if not self.pad_to_bytes:
            return records
        return (pad_record(r, self.pad_to_bytes) for r in records)

    def run(self, on_tick: Callable[[RunProgress], None] | None = None) -> RunResult:
        kinesis = aws.client("kinesis", self.settings)
        lander = StreamLander(
            self.settings,
            kinesis,
            after_commit=lambda n: setattr(self.progress, "landed", self.progress.landed + n),
            turn=self._warehouse_turn,
        )
        archiver = self._archiver = StreamArchiver(
            self.settings, kinesis, aws.client("s3", self.settings)
        )
        producer = KinesisProducer(
            kinesis,
            self.settings.stream_name,
            max_in_flight=self.settings.producer_in_flight,
            dead_letters=dead_letters.for_run(self.settings.state_dir, "demo"),
        )
        produce_report: list[ProduceReport] = []
        produce_seconds: list[float] = []

        def produce() -> None:
            started = time.monotonic()
            try:
                publish_paced(
                    producer,
                    self._records(),
                    on_put=self._count_put,
                )
            finally:
                produce_report.append(producer.close())
                produce_seconds.append(time.monotonic() - started)
                self.progress.producing = False

        producer_thread = threading.Thread(target=produce, name="producer", daemon=True)
        lander_thread = threading.Thread(
            target=lander.run, args=(self._stop_landing,), name="lander", daemon=True
        )
        archiver_thread = threading.Thread(
            target=archiver.run,
            args=(self._stop_landing,),
            kwargs={"buffer_seconds": ARCHIVE_BUFFER_SECONDS},
            name="archiver",
            daemon=True,
        )
        producer_thread.start()
        lander_thread.start()
        archiver_thread.start()
        next_refresh = time.monotonic() + self.refresh_interval
        try:
            while producer_thread.is_alive():
                self._sample(on_tick)
                if time.monotonic() >= next_refresh:
                    # On the clock from each refresh's start, as the DAG runs: a refresh that
                    # overruns its interval is followed at once, never an interval later.
                    next_refresh = time.monotonic() + self.refresh_interval
                    self._refresh()
                producer_thread.join(timeout=0.5)
        finally:
            self._stop_landing.set()
            lander_thread.join()
            archiver_thread.join()
        # Drain what is left on the stream, then one last build, so the report sees everything.
        lander.land_once()
        archiver.archive_once()
        self._refresh()
        self._sample(on_tick)
        report = produce_report[0]
        return RunResult(
            produce=report,
            progress=self.progress,
            produce_seconds=produce_seconds[0],
            expected=self.expected(report),
        )

    def expected(self, report: ProduceReport) -> Expected:
        """The truth for what Kinesis accepted: the same seed replays the same records."""
        refusals = dead_letters.read(report.dead_letters) if report.dead_letters else report.failed
        refused = Counter(f.record.data for f in refusals)

        def accepted() -> Iterator[bytes]:
            for record in self._records():
                if refused[record.data]:
                    refused[record.data] -= 1
                    continue
                yield record.data

        return expected_outcome(accepted())

    def _count_put(self, record: SimRecord) -> None:
        self.progress.generated += 1
        if self.progress.generated % 100 == 0:
            lag = (datetime.now(UTC) - record.emitted_at).total_seconds()
            self.progress.send_lag_samples.append(lag)

    def _refresh(self) -> None:
        """The refresh DAG's one task, timed whole: what the minute costs under the DAG."""
        started = time.monotonic()
        with self._warehouse_turn:
            minute = refresh.run_minute(self.settings)
        elapsed = time.monotonic() - started
        # What the lander thread had not landed yet, the minute landed.
        self.progress.landed += minute.landed
        self.progress.refreshes += 1
        self.progress.last_refresh_seconds = elapsed
        self.progress.refresh_seconds.append(elapsed)

    def _sample(self, on_tick: Callable[[RunProgress], None] | None) -> None:
        if self._archiver is not None:
            self.progress.archived = self._archiver.stats.archived
        self.progress.peak_rss_bytes = max(
            self.progress.peak_rss_bytes, _rss_of_pipeline(self.settings)
        )
        if on_tick is not None:
            on_tick(self.progress)

"""Soak: the whole local pipeline at a sustained rate while faults are injected, then the count.

    nice -n 19 .venv/bin/python -m benchmarks.soak                      # 800 events/s, 10 min
    nice -n 19 .venv/bin/python -m benchmarks.soak --rate 800 --duration 180

Producer (this process, paced by the simulator) → the local endpoint → lander and archiver (each
a process of its own, restarted when it dies, as a supervisor would) → a minute refresh (one
`dbt build` process per minute, never two at once). Faults, each at seeded random moments and
most several times: the lander and the archiver SIGKILLed, dbt SIGKILLed mid-build, the
warehouse file held by another process for 2 minutes, the archive bucket refusing writes for 2
minutes (a proxy between the archiver and the endpoint answers S3 writes 503), 30% of the
records of PutRecords throttled for a minute, a schema-drifted producer for a minute (a new
optional field, and donation.completed at schema_version 2, which the contract does not have
yet), the hostile corpus's poison records, a replay of an earlier window while streaming goes
on, and a corrected settlement export written over the loaded key.

At the end every minute of arrival is reconciled (archive vs landings vs marts,
ingestion/operations/reconcile.py), fct_donations is compared to the simulator's oracle to the
cent, and a table is printed. Freshness at a moment is how old the newest gift visible in
fct_donations was then (from its first_loaded_at and emitted_at); a fault's recovery is the time
from the fault's end until that is back under 2 minutes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from ingestion.archive.archiver import StreamArchiver
from ingestion.config import aws, dbt, s3_access, warehouse
from ingestion.config.settings import REPO_ROOT, Settings
from ingestion.contract import partition_key
from ingestion.demo.report import compare_donations, read_donations
from ingestion.demo.simulator import PROFILES, FaultRates, Phase, SimRecord, Simulator
from ingestion.demo.simulator.truth import Expected, expected_outcome
from ingestion.landing.lander import LANDING_TABLE, StreamLander
from ingestion.local import localaws
from ingestion.operations.alerts import alerts_path
from ingestion.operations.reconcile import reconcile_windows
from ingestion.produce import dead_letters
from ingestion.produce.producer import KinesisProducer
from ingestion.produce.publish import publish_paced
from ingestion.replay.window import Window

FRESH_SECONDS = 120.0
# A failed replay or batch load is tried again, as Airflow retries its task.
JOB_ATTEMPTS = 6
JOB_RETRY_SECONDS = 15.0
SETTLEMENT_KEY = "landing/settlements/soak.csv"
SETTLEMENT_HEADER = (
    "processor",
    "processor_txn_id",
    "gross_cents",
    "fee_cents",
    "net_cents",
    "payout_id",
    "settled_at",
)

# name -> (how long it lasts in seconds, 0 for an instant; default count for a 10-minute run)
FAULTS: dict[str, tuple[float, int]] = {
    "lander SIGKILL": (0, 3),
    "dbt SIGKILL mid-build": (0, 2),
    "archiver SIGKILL": (0, 2),
    "warehouse held 2 min": (120, 1),
    "archive bucket refuses writes 2 min": (120, 1),
    "30% of PutRecords throttled 1 min": (60, 1),
    "schema-drifted producer 1 min": (60, 1),
    "poison records": (0, 2),
    "replay of an earlier window": (0, 1),
    "corrected export re-dropped": (0, 1),
}


@dataclass(frozen=True)
class Injection:
    fault: str
    at: float  # seconds after the run's start
    seconds: float

    @property
    def end(self) -> float:
        return self.at + self.seconds


def schedule_faults(
    duration: float, seed: int, counts: dict[str, int] | None = None
) -> list[Injection]:
    """Seeded random moments for each fault, inside the run and after its first minute (the
    replay needs something archived, the correction an export loaded)."""
    rng = random.Random(seed)
    scale = duration / 600
    injections = []
    for fault, (seconds, default) in FAULTS.items():
        count = counts.get(fault, 0) if counts is not None else max(1, round(default * scale))
        for _ in range(count):
            latest = max(60.0, duration - seconds - 20)
            injections.append(Injection(fault, rng.uniform(min(60.0, latest), latest), seconds))
    return sorted(injections, key=lambda i: i.at)


# --- the producer's records: the simulator, with the drift and poison faults laid in


def _drifted(record: SimRecord) -> SimRecord:
    """A producer upgraded ahead of the contract: a new optional field on every gift, and one in
    ten at schema_version 2 (quarantined until the contract has it). Decided by the record's
    bytes, so a redelivered copy drifts as its original did."""
    if record.kind == "malformed" or b'"donation.completed"' not in record.data:
        return record
    try:
        event = json.loads(record.data)
    except ValueError:
        return record
    if not isinstance(event, dict) or not isinstance(event.get("payload"), dict):
        return record
    event["payload"]["gift_aid_eligible"] = True
    if hashlib.sha256(record.data).digest()[0] < 26:
        event["schema_version"] = 2
    data = json.dumps(event, separators=(",", ":")).encode()
    return replace(record, data=data, partition_key=partition_key(data))


def _poison() -> list[bytes]:
    from tests.test_hostile_corpus import HOSTILE

    return [record for record, _ in HOSTILE.values()]


def soak_records(
    rate: int, duration: float, seed: int, start: datetime, injections: list[Injection]
) -> Iterator[SimRecord]:
    """The run's records, the same for the same arguments: the truth is computed again from
    them at the end, less what Kinesis refused."""
    profile = replace(PROFILES["normal"], events_per_second=rate)
    drift = [i for i in injections if i.fault.startswith("schema-drifted")]
    poison_at = sorted(i.at for i in injections if i.fault == "poison records")
    poison = _poison() if poison_at else []
    for record in Simulator(seed=seed, start=start, faults=FaultRates()).generate(
        [Phase(profile, duration)]
    ):
        offset = (record.emitted_at - start).total_seconds()
        if any(i.at <= offset < i.end for i in drift):
            record = _drifted(record)
        yield record
        while poison_at and poison_at[0] <= offset:
            poison_at.pop(0)
            for data in poison:
                yield SimRecord(data, partition_key(data), record.emitted_at, "malformed")


# --- the archive's S3 writes through a proxy that can refuse them


class RefusingProxy:
    """Forwards every request to the endpoint; while ``refusing``, answers S3 writes (PUT) with
    503 SlowDown, as S3 does under a throttle or an outage. Kinesis calls (POST) pass."""

    def __init__(self, target: str) -> None:
        self.refusing = threading.Event()
        self.refused = 0
        upstream = urlsplit(target)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command == "PUT" and proxy.refusing.is_set():
                    proxy.refused += 1
                    message = (
                        b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
                        b"<Message>injected</Message></Error>"
                    )
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                connection = http.client.HTTPConnection(
                    upstream.hostname or "127.0.0.1", upstream.port, timeout=120
                )
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in {"host", "expect"}
                }
                headers["Host"] = upstream.netloc
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- worker processes


def worker_env(settings: Settings, endpoint: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "ACCFB_ENVIRONMENT": "local",
        "ACCFB_AWS_ENDPOINT_URL": endpoint or settings.aws_endpoint_url or "",
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
        "ACCFB_STREAM_SHARDS": str(settings.stream_shards),
        "ACCFB_POLL_INTERVAL_SECONDS": str(settings.poll_interval_seconds),
    }


def run_worker(role: str, args: list[str]) -> None:
    """One component in its own process, stopped by SIGTERM (or killed by the soak)."""
    settings = Settings.from_environment()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if role == "lander":
        StreamLander(settings, aws.client("kinesis", settings)).run(stop)
    elif role == "archiver":
        StreamArchiver(settings, aws.client("kinesis", settings), aws.client("s3", settings)).run(
            stop, buffer_seconds=10
        )
    elif role == "refresh":
        dbt.build_streaming_models(settings)
    elif role == "replay":
        from ingestion.replay.loads import replay

        replay(settings, Window(datetime.fromisoformat(args[0]), datetime.fromisoformat(args[1])))
    elif role == "load-batch":
        from ingestion.batch.loads import load_batches

        load_batches(settings, ["settlements"])
    elif role == "hold":
        with warehouse.connect(settings.warehouse_path):
            print("held", flush=True)
            stop.wait(float(args[0]))
    else:
        raise SystemExit(f"unknown worker {role}")


class Workers:
    """The component processes: started, restarted when they die, killed on cue."""

    def __init__(self, settings: Settings, archive_endpoint: str, log_dir: Path) -> None:
        self.settings = settings
        self.archive_endpoint = archive_endpoint
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()
        self.refreshes: list[tuple[float, float, int]] = []  # start, end, exit code
        self._refresh_started = 0.0
        # One-shot jobs (a replay, a batch load), retried when they fail as the backfill and
        # batch DAGs' tasks are: [role, args, process, attempts, retry not before].
        self.jobs: list[list[Any]] = []
        self.job_failures: Counter[str] = Counter()

    def start(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        endpoint = self.archive_endpoint if role == "archiver" else None
        log = (self.log_dir / f"{role}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.soak", "--worker", role, *args],
            env=worker_env(self.settings, endpoint),
            cwd=REPO_ROOT,
            stdout=log,
            stderr=log,
        )
        self.processes[role] = process
        if role == "refresh":
            self._refresh_started = time.monotonic()
        return process

    def job(self, role: str, *args: str) -> None:
        process = self.start(role, *args)
        self.processes.pop(role)
        self.jobs.append([role, args, process, 1, 0.0])

    def jobs_pending(self) -> bool:
        return any(job[2] is not None for job in self.jobs)

    def _supervise_jobs(self) -> None:
        now = time.monotonic()
        for job in self.jobs:
            role, args, process, attempts, not_before = job
            if process is None:
                continue
            code = process.poll()
            if code is None or code == 0:
                if code == 0:
                    job[2] = None
                continue
            if attempts >= JOB_ATTEMPTS:
                self.job_failures[role] += 1
                job[2] = None
            elif not not_before:
                job[4] = now + JOB_RETRY_SECONDS
            elif now >= not_before:
                self.job_failures[role] += 1
                job[2] = self.start(role, *args)
                self.processes.pop(role)
                job[3], job[4] = attempts + 1, 0.0

    def alive(self, role: str) -> bool:
        process = self.processes.get(role)
        return process is not None and process.poll() is None

    def kill(self, role: str) -> bool:
        process = self.processes.get(role)
        if process is None or process.poll() is not None:
            return False
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True

    def supervise(self, clock: float) -> None:
        """Restart a dead lander or archiver (as systemd or ECS would), note a finished refresh."""
        for role in ("lander", "archiver"):
            process = self.processes.get(role)
            if process is not None and process.poll() is not None:
                self.exits[role] += 1
                self.restarts[role] += 1
                self.start(role)
        self._supervise_jobs()
        refresh = self.processes.get("refresh")
        if refresh is not None and refresh.poll() is not None and self._refresh_started:
            self.refreshes.append((self._refresh_started, time.monotonic(), refresh.returncode))
            self._refresh_started = 0.0

    def kill_all(self) -> None:
        """Whatever is still running when the soak ends (or fails): none of it outlives it."""
        running = [*self.processes.values(), *(job[2] for job in self.jobs if job[2])]
        for process in running:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait()

    def stop(self, role: str) -> None:
        process = self.processes.pop(role, None)
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait()


# --- the run


@dataclass
class SoakResult:
    rate: int
    duration: float
    produced: int
    # Dead-lettered by the producer, never put: records it refuses to send (over the record
    # limit, a repeated key) and any Kinesis never accepted.
    refused: int
    accepted: int
    landed: int
    archived: int
    lost: int
    counted_twice: int
    marts_equal_oracle: bool
    reconcile_failures: list[str]
    settlement_ok: bool
    corrected_alerts: int
    injections: list[Injection]
    recovery: dict[str, float | None]  # fault -> longest seconds from its end to fresh again
    freshness: dict[str, float | None]  # p50/p95/p99, overall and outside fault windows
    refreshes: int
    failed_refreshes: int
    restarts: dict[str, int]
    wall_seconds: float
    notes: list[str] = field(default_factory=list)


def _settlement_csv(rows: list[tuple[str, str, int, int]], settled_at: datetime) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SETTLEMENT_HEADER)
    for processor, txn, gross, fee in rows:
        writer.writerow(
            [processor, txn, gross, fee, gross - fee, "po_soak", settled_at.isoformat()]
        )
    return out.getvalue()


class Soak:
    def __init__(
        self,
        settings: Settings,
        *,
        rate: int,
        duration: float,
        seed: int,
        injections: list[Injection],
        refresh_interval: float = 60.0,
        console: Console | None = None,
    ) -> None:
        self.settings = settings
        self.rate = rate
        self.duration = duration
        self.seed = seed
        self.injections = injections
        self.refresh_interval = refresh_interval
        self.console = console or Console(stderr=True)
        self.start = datetime.now(UTC) + timedelta(seconds=2)
        self.produced = 0
        self.throttling = threading.Event()
        self.gifts: list[tuple[str, str, int, int]] = []  # first gifts sent, for the export
        self.injected_at: dict[int, tuple[float, float]] = {}  # injection index -> wall start, end
        self.export_rows: list[tuple[str, str, int, int]] = []

    def _records(self) -> Iterator[SimRecord]:
        return soak_records(self.rate, self.duration, self.seed, self.start, self.injections)

    def _offset(self) -> float:
        return (datetime.now(UTC) - self.start).total_seconds()

    def _produce(self, producer: KinesisProducer, done: list[Any]) -> None:
        def on_put(record: SimRecord) -> None:
            self.produced += 1
            if (
                len(self.gifts) < 50
                and record.kind == "valid"
                and b"donation.completed" in (record.data)
            ):
                payload = json.loads(record.data)["payload"]
                self.gifts.append(
                    (
                        payload["processor"],
                        payload["processor_txn_id"],
                        payload["amount_cents"],
                        payload["fee_cents"],
                    )
                )

        try:
            publish_paced(producer, self._records(), on_put=on_put)
        finally:
            done.append(producer.close())

    def run(self) -> SoakResult:
        settings = self.settings
        localaws.provision(settings)
        log_dir = settings.state_dir / "soak-logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        proxy = RefusingProxy(settings.aws_endpoint_url or "")
        workers = Workers(settings, proxy.url, log_dir)
        try:
            return self._run(workers, proxy)
        finally:
            workers.kill_all()
            proxy.close()

    def _run(self, workers: Workers, proxy: RefusingProxy) -> SoakResult:
        wall_started = time.monotonic()
        settings = self.settings

        from tests.produce.faults import KinesisFaults

        kinesis = aws.client("kinesis", settings)
        throttle_rng = random.Random(self.seed)
        KinesisFaults(
            kinesis,
            decide=lambda _c, _i, _r: (
                "ProvisionedThroughputExceededException"
                if self.throttling.is_set() and throttle_rng.random() < 0.3
                else None
            ),
        )
        producer = KinesisProducer(
            kinesis,
            settings.stream_name,
            max_in_flight=settings.producer_in_flight,
            dead_letters=dead_letters.for_run(settings.state_dir, "soak"),
        )
        done: list[Any] = []
        producer_thread = threading.Thread(
            target=self._produce, args=(producer, done), name="producer", daemon=True
        )
        workers.start("lander")
        workers.start("archiver")
        producer_thread.start()
        pending = list(enumerate(self.injections))
        next_refresh = time.monotonic() + self.refresh_interval
        export_dropped = False
        holds: list[tuple[int, subprocess.Popen[bytes]]] = []
        timed: list[tuple[int, float]] = []  # (injection, wall end) for windowed faults
        dbt_kills: list[int] = []
        while producer_thread.is_alive():
            now = time.monotonic()
            offset = self._offset()
            workers.supervise(now)
            if not workers.alive("refresh") and now >= next_refresh:
                workers.start("refresh")
                next_refresh = now + self.refresh_interval
            if not export_dropped and offset > 30 and len(self.gifts) >= 10:
                self.export_rows = list(self.gifts)
                self._drop_export(self.export_rows)
                workers.job("load-batch")
                export_dropped = True
            while pending and pending[0][1].at <= offset:
                index, injection = pending.pop(0)
                self._inject(index, injection, workers, proxy, holds, timed, dbt_kills)
            # A dbt kill waits for a build to be running, then strikes a few seconds into it.
            for index in list(dbt_kills):
                if workers.alive("refresh") and now - workers._refresh_started > 3:
                    workers.kill("refresh")
                    workers.supervise(now)
                    self.injected_at[index] = (time.monotonic(), time.monotonic())
                    dbt_kills.remove(index)
            for index, end in list(timed):
                if time.monotonic() >= end:
                    self._end_window(index, proxy)
                    timed.remove((index, end))
            for index, hold in list(holds):
                if hold.poll() is not None:
                    start = self.injected_at[index][0]
                    self.injected_at[index] = (start, time.monotonic())
                    holds.remove((index, hold))
            producer_thread.join(timeout=0.5)
        report = done[0]
        # What is still open ends now; then the components drain what is on the stream.
        for index, _ in timed:
            self._end_window(index, proxy)
        for index, hold in holds:
            hold.wait()
            self.injected_at[index] = (self.injected_at[index][0], time.monotonic())
        for index in dbt_kills:
            self.injected_at.setdefault(index, (time.monotonic(), time.monotonic()))
        while workers.jobs_pending():
            workers.supervise(time.monotonic())
            time.sleep(0.5)
        if workers.alive("refresh"):
            workers.processes["refresh"].wait()
        workers.supervise(time.monotonic())
        time.sleep(15)  # the lander and archiver catch up, as they would in a steady state
        workers.stop("lander")
        workers.stop("archiver")
        StreamLander(settings, aws.client("kinesis", settings)).land_once()
        StreamArchiver(
            settings, aws.client("kinesis", settings), aws.client("s3", settings)
        ).archive_once()
        refresh = workers.start("refresh")
        refresh.wait()
        workers.supervise(time.monotonic())
        return self._count(report, workers, wall_started)

    def _drop_export(self, rows: list[tuple[str, str, int, int]]) -> None:
        aws.client("s3", self.settings).put_object(
            Bucket=self.settings.raw_bucket,
            Key=SETTLEMENT_KEY,
            Body=_settlement_csv(rows, self.start).encode(),
        )

    def _inject(
        self,
        index: int,
        injection: Injection,
        workers: Workers,
        proxy: RefusingProxy,
        holds: list[tuple[int, subprocess.Popen[bytes]]],
        timed: list[tuple[int, float]],
        dbt_kills: list[int],
    ) -> None:
        fault, now = injection.fault, time.monotonic()
        self.console.log(f"inject {fault} at {injection.at:.0f} s")
        if fault == "lander SIGKILL":
            workers.kill("lander")
        elif fault == "archiver SIGKILL":
            workers.kill("archiver")
        elif fault == "dbt SIGKILL mid-build":
            dbt_kills.append(index)
            return
        elif fault == "warehouse held 2 min":
            holds.append((index, workers.start("hold", str(injection.seconds))))
            workers.processes.pop("hold")
        elif fault.startswith("archive bucket"):
            proxy.refusing.set()
            timed.append((index, now + injection.seconds))
        elif fault.startswith("30% of PutRecords"):
            self.throttling.set()
            timed.append((index, now + injection.seconds))
        elif fault.startswith("schema-drifted"):
            # Laid into the records by emitted_at (soak_records); its window is that minute.
            timed.append((index, now + injection.seconds))
        elif fault == "replay of an earlier window":
            start = self.start
            end = datetime.now(UTC) - timedelta(seconds=60)
            workers.job("replay", start.isoformat(), end.isoformat())
        elif fault == "corrected export re-dropped":
            corrected = [*self.export_rows[:-1]]
            if corrected:
                processor, txn, gross, fee = corrected[0]
                corrected[0] = (processor, txn, gross - 100, fee)
            self.export_rows = corrected
            self._drop_export(corrected)
            workers.job("load-batch")
        self.injected_at[index] = (now, now)

    def _end_window(self, index: int, proxy: RefusingProxy) -> None:
        fault = self.injections[index].fault
        if fault.startswith("archive bucket"):
            proxy.refusing.clear()
        elif fault.startswith("30% of PutRecords"):
            self.throttling.clear()
        self.injected_at[index] = (self.injected_at[index][0], time.monotonic())

    # --- the count ---------------------------------------------------------------------------

    def _expected(self, refused: Counter[bytes]) -> Expected:
        def accepted() -> Iterator[bytes]:
            for record in self._records():
                if refused[record.data]:
                    refused[record.data] -= 1
                    continue
                yield record.data

        return expected_outcome(accepted())

    def _count(self, report: Any, workers: Workers, wall_started: float) -> SoakResult:
        settings = self.settings
        failures = list(dead_letters.read(report.dead_letters)) if report.dead_letters else []
        refused = Counter(f.record.data for f in failures)
        expected = self._expected(refused)
        with warehouse.connect(settings.warehouse_path) as con:
            stream_rows, stream_positions = con.execute(
                f"select count(*), count(distinct (shard_id, sequence_number)) from {LANDING_TABLE}"
            ).fetchone() or (0, 0)
            landed_rows, landed_positions = con.execute(
                "select count(*), count(distinct (shard_id, sequence_number)) "
                "from landing.landed_records"
            ).fetchone() or (0, 0)
            gift_rows, gift_ids = con.execute(
                "select count(*), count(distinct donation_id) from marts.fct_donations"
            ).fetchone() or (0, 0)
            s3_access.enable_s3(con, settings)
            archived = con.execute(
                "select count(distinct (shard_id, sequence_number)) from read_json(?, "
                "format = 'newline_delimited', compression = 'gzip', columns = {"
                "shard_id: 'varchar', sequence_number: 'varchar'})",
                [self._archive_urls()],
            ).fetchone()
            landing_settlements = con.execute(
                "select processor, processor_txn_id, gross_cents, fee_cents "
                "from lander.processor_settlements order by processor, processor_txn_id"
            ).fetchall()
            visible = con.execute(
                "select epoch(first_loaded_at), epoch(emitted_at) from marts.fct_donations"
            ).fetchall()
        comparison = compare_donations(
            expected.donation_amounts(), read_donations(settings.warehouse_path)
        )
        accepted = report.accepted
        archived_count = int(archived[0]) if archived else 0
        lost_landing = max(0, accepted - landed_positions)
        lost = lost_landing + len(comparison.missing)
        twice = (stream_rows - stream_positions) + (landed_rows - landed_positions)
        twice += gift_rows - gift_ids + len(comparison.unexpected)
        twice += sum(1 for line in comparison.wrong_amounts if "expected" in line)
        notes = []
        if accepted != archived_count:
            notes.append(f"archive holds {archived_count:,} of {accepted:,} accepted records")
        reconcile_failures = self._reconcile()
        settlement_ok = sorted(landing_settlements) == sorted(self.export_rows)
        alerts = alerts_path(settings)
        corrected_alerts = (
            sum(1 for line in alerts.read_text().splitlines() if "batch-export-corrected" in line)
            if alerts.exists()
            else 0
        )
        recovery, freshness = self._freshness(visible)
        return SoakResult(
            rate=self.rate,
            duration=self.duration,
            produced=self.produced,
            refused=len(failures),
            accepted=accepted,
            landed=landed_positions,
            archived=archived_count,
            lost=lost,
            counted_twice=twice,
            marts_equal_oracle=comparison.ok,
            reconcile_failures=reconcile_failures,
            settlement_ok=settlement_ok,
            corrected_alerts=corrected_alerts,
            injections=self.injections,
            recovery=recovery,
            freshness=freshness,
            refreshes=len(workers.refreshes),
            failed_refreshes=sum(1 for *_, code in workers.refreshes if code != 0),
            restarts=dict(workers.restarts),
            wall_seconds=time.monotonic() - wall_started,
            notes=notes + comparison.missing[:3] + comparison.wrong_amounts[:3],
        )

    def _archive_urls(self) -> list[str]:
        s3 = aws.client("s3", self.settings)
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.settings.raw_bucket, Prefix="raw/"
        )
        return [
            s3_access.s3_url(self.settings.raw_bucket, item["Key"])
            for page in pages
            for item in page.get("Contents", [])
        ]

    def _reconcile(self) -> list[str]:
        first = self.start.replace(second=0, microsecond=0)
        minutes = int((datetime.now(UTC) - first).total_seconds() // 60) + 1
        windows = [
            Window(first + timedelta(minutes=i), first + timedelta(minutes=i + 1))
            for i in range(minutes)
        ]
        return [
            f"{window.start:%H:%M} {row.check}"
            for window, rows in zip(windows, reconcile_windows(self.settings, windows), strict=True)
            for row in rows
            if not row.ok
        ]

    def _freshness(
        self, visible: list[tuple[float, float]]
    ) -> tuple[dict[str, float | None], dict[str, float | None]]:
        """Staleness on a 5-second grid from when each gift first showed in the mart; each
        fault's recovery; per-gift freshness over the run and outside the faults' windows."""
        start = self.start.timestamp()
        wall_of = {index: (a, b) for index, (a, b) in self.injected_at.items()}
        # monotonic -> epoch
        shift = time.time() - time.monotonic()
        shown = sorted((loaded, emitted) for loaded, emitted in visible if emitted >= start)
        grid, newest, position = [], None, 0
        t = start + 60
        end = start + self.duration
        # Up to the last build: a fault near the end recovers after the traffic stops.
        last = max((loaded for loaded, _ in shown), default=end)
        while t <= max(end, last) + 5:
            while position < len(shown) and shown[position][0] <= t:
                newest = max(newest or 0.0, shown[position][1])
                position += 1
            grid.append((t, (t - newest) if newest is not None else None))
            t += 5

        recovery: dict[str, float | None] = {}
        affected: list[tuple[float, float]] = []
        for index, injection in enumerate(self.injections):
            if index not in wall_of:
                continue
            began, ended = (w + shift for w in wall_of[index])
            back = next(
                (
                    t
                    for t, stale in grid
                    if t >= ended and stale is not None and stale < FRESH_SECONDS
                ),
                None,
            )
            took = None if back is None else back - ended
            affected.append((began, back if back is not None else max(end, last)))
            previous = recovery.get(injection.fault, 0.0)
            recovery[injection.fault] = (
                None if took is None or previous is None else max(previous, took)
            )

        per_gift = sorted(loaded - emitted for loaded, emitted in shown)
        calm = sorted(
            loaded - emitted
            for loaded, emitted in shown
            if not any(a <= emitted <= b for a, b in affected)
        )
        freshness: dict[str, float | None] = {}
        for name, values in (("overall", per_gift), ("outside faults", calm)):
            for q in (0.50, 0.95, 0.99):
                freshness[f"{name} p{round(q * 100)}"] = (
                    values[min(len(values) - 1, int(q * len(values)))] if values else None
                )
        return recovery, freshness


def print_table(result: SoakResult, console: Console) -> None:
    table = Table(
        title=f"Soak: {result.rate:,} events/s for {result.duration:.0f} s "
        f"(wall {result.wall_seconds:,.0f} s)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in (
        ("events produced", result.produced),
        ("refused by the producer (dead letters)", result.refused),
        ("accepted by Kinesis", result.accepted),
        ("landed (stream positions)", result.landed),
        ("archived (stream positions)", result.archived),
        ("lost", result.lost),
        ("counted twice", result.counted_twice),
    ):
        table.add_row(name, f"{value:,}")
    table.add_row(
        "fct_donations equals the oracle to the cent", "yes" if result.marts_equal_oracle else "NO"
    )
    table.add_row(
        "minute windows reconciled (archive = landings = marts)",
        "all" if not result.reconcile_failures else "; ".join(result.reconcile_failures[:5]),
    )
    table.add_row(
        "settlement landing = the corrected export",
        ("yes" if result.settlement_ok else "NO") + f" ({result.corrected_alerts} alert)",
    )
    table.add_row("refreshes (failed or killed)", f"{result.refreshes} ({result.failed_refreshes})")
    table.add_row(
        "restarts", ", ".join(f"{k} {v}" for k, v in sorted(result.restarts.items())) or "0"
    )
    for name, seconds in result.freshness.items():
        table.add_row(f"freshness {name} (s)", "-" if seconds is None else f"{seconds:,.1f}")
    console.print(table)

    faults = Table(
        title="Faults: injected, and the longest time from a fault's end to freshness < 2 min"
    )
    faults.add_column("fault")
    faults.add_column("injected", justify="right")
    faults.add_column("recovery (s)", justify="right")
    injected = Counter(i.fault for i in result.injections)
    for fault in FAULTS:
        if not injected[fault]:
            continue
        took = result.recovery.get(fault)
        faults.add_row(fault, str(injected[fault]), "not back" if took is None else f"{took:,.0f}")
    console.print(faults)
    for note in result.notes:
        console.print(f"note: {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=int, default=800, help="events per second")
    parser.add_argument("--duration", type=float, default=600, help="seconds of traffic")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refresh-interval", type=float, default=60)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.worker:
        run_worker(args.worker, rest)
        return

    os.environ.setdefault("ACCFB_AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    base = Settings.from_environment()
    run_id = datetime.now(UTC).strftime("%Y%m%dt%H%M%S")
    settings = base.model_copy(
        update={
            "stream_name": f"soak-{run_id}",
            "raw_bucket": f"soak-{run_id}",
            "state_dir": base.state_dir / "soak" / run_id,
            "warehouse_path": base.state_dir / "soak" / run_id / "warehouse.duckdb",
        }
    )
    localaws.ensure_up(settings)
    console = Console()
    injections = schedule_faults(args.duration, args.seed)
    try:
        result = Soak(
            settings,
            rate=args.rate,
            duration=args.duration,
            seed=args.seed,
            injections=injections,
            refresh_interval=args.refresh_interval,
        ).run()
    finally:
        # An endpoint this run started holds every record it was sent in memory (6 GB after
        # 8,000 events/s for 10 minutes): stop it. One that was already serving is left alone.
        localaws.stop_endpoint(settings)
    print_table(result, console)
    ok = result.lost == 0 and result.counted_twice == 0 and result.marts_equal_oracle
    sys.exit(0 if ok and not result.reconcile_failures and result.settlement_ok else 1)


if __name__ == "__main__":
    main()

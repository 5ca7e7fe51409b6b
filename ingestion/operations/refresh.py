"""The minute: land, build, publish, measure and alert, in one process with dbt once in it.

The refresh DAG runs this as its one task and ``accfb refresh`` runs it from the command line.
One process pays Airflow's, dbt's and DuckDB's imports once per minute instead of once per model
(a task per model cost seconds of start-up each and starved the build it watched); Airflow still
retries the task, and every step below resumes from what the last attempt committed (the
landing from its cursor, dbt's models from their batch cursors, the serving copy from its own).

Per-model results stay visible: the build's results (dbt's result object, what its
``run_results.json`` holds) are summarised into the task log (status counts, the slowest nodes,
every test that warned), kept per node in ``ops.dbt_node_results`` for the operations dashboard
(ingestion/operations/node_results.py), and the minute's bounded tests that warned are published
as ``DataQualityFailures``. A test that fails at error severity fails the build, the task and
its retries, and alerts through the DAG's failure callback.

The minute's checks are the dbt tests bounded by the new batches (tag ``minute``, in the build).
The whole-table Soda contracts and dbt tests run in the data-quality DAG every 15 minutes: their
cost follows the history, and no mart waits on them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from ingestion.config import aws, dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.operations import alerts, metrics, node_results

log = logging.getLogger(__name__)
SLOWEST_SHOWN = 5


@dataclass(frozen=True)
class RunSummary:
    """What dbt reported about one build's nodes."""

    statuses: dict[str, int]
    slowest: list[tuple[str, float]]
    warned: list[str]
    failed: list[str]

    @classmethod
    def of(cls, runs: Sequence[dbt.NodeRun]) -> RunSummary:
        slowest = sorted(runs, key=lambda r: r.seconds, reverse=True)[:SLOWEST_SHOWN]
        return cls(
            statuses=dict(Counter(r.status for r in runs)),
            slowest=[(r.name, r.seconds) for r in slowest],
            warned=[r.name for r in runs if r.status == "warn"],
            failed=[r.name for r in runs if r.status in {"error", "fail"}],
        )

    def lines(self) -> list[str]:
        counts = ", ".join(f"{count} {status}" for status, count in sorted(self.statuses.items()))
        slow = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.slowest)
        return [
            f"dbt nodes: {counts}",
            f"slowest: {slow}",
            *(f"test warned: {name}" for name in self.warned),
            *(f"failed: {name}" for name in self.failed),
        ]


@dataclass
class MinuteReport:
    landed: int = 0
    built_nodes: int = 0
    published: bool = False
    rows_published: int = 0
    figures: metrics.RefreshFigures | None = None
    summary: RunSummary | None = None
    alerts_sent: int = 0
    # Nodes whose results could not be written to ops.dbt_node_results (best effort).
    node_results_unrecorded: int = 0
    # Wall seconds per step, in order.
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class _Clock:
    def __init__(self, report: MinuteReport) -> None:
        self._report = report
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self._report.seconds[step] = now - self._last
        self._last = now


def land(settings: Settings) -> int:
    """Make everything Kinesis holds visible to dbt. Redshift: REFRESH MATERIALIZED VIEW, since
    auto refresh yields to user queries and may be deferred. Locally: drain the stream into the
    landing table. Both resume from what already landed: safe to retry."""
    if settings.is_local:
        from ingestion.landing.lander import StreamLander

        # Held open for the whole landing: each page's commit reuses this process's database
        # instead of opening the file again (and checkpointing it on close). The build that
        # follows holds it in this process anyway.
        with warehouse.connect(settings.warehouse_path):
            return StreamLander(settings, aws.client("kinesis", settings)).land_once()
    dbt.run_dbt(settings, ["run-operation", "refresh_stream_landing"])
    return 0


def run_minute(
    settings: Settings,
    *,
    since: datetime | None = None,
    origin: Mapping[str, str] | None = None,
) -> MinuteReport:
    """One refresh: land, build, publish (locally: the serving copy), stamp source-to-dashboard
    freshness, publish the figures and the heartbeat, alert on what changed state. ``since``:
    where the counts of new quarantines, conflicts and archive failures start (the run's data
    interval, so consecutive runs leave no gap); by default this run's start."""
    origin = dict(origin or {})
    report = MinuteReport()
    clock = _Clock(report)
    started = since or datetime.now(UTC)

    report.landed = land(settings)
    clock.lap("land")

    try:
        result = dbt.build_streaming_models(settings)
    except dbt.DbtError as failed:
        # The failed build's nodes reach the operations page with the next publish; the minute
        # fails with dbt's error, whatever the recording does.
        _record_node_results(settings, report, failed.invocation_id, failed.node_runs)
        raise
    report.built_nodes = result.nodes
    if result.nodes:
        report.summary = RunSummary.of(result.node_runs)
        for line in report.summary.lines():
            log.info("%s", line)
    clock.lap("build")
    _record_node_results(settings, report, result.invocation_id, result.node_runs)
    clock.lap("node results")

    dashboard_p95 = _publish(settings, report)
    clock.lap("publish")

    figures = metrics.measure_in_warehouse(settings, started)
    if dashboard_p95 is not None:
        figures = replace(figures, freshness_p95_seconds=dashboard_p95)
    elif report.built_nodes:
        # Gifts built but none visible yet is not a figure; nothing built: no gifts, no figure.
        figures = replace(figures, freshness_p95_seconds=None)
    report.figures = figures
    archive_failed = metrics.archive_processing_failed(settings, started)
    warned = len(report.summary.warned) if report.summary else 0
    # Reaching here means the stream landed, the models built and were published: the heartbeat.
    metrics.publish(
        settings,
        figures,
        data_quality_failures=warned,
        archive_processing_failed=archive_failed,
        refresh_completed=True,
    )
    sent = alerts.settle(
        settings,
        metrics.REFRESH_CHECKS,
        metrics.refresh_alerts(figures, archive_failed, **origin),
        **origin,
    )
    report.alerts_sent = len(sent)
    clock.lap("checks and metrics")
    log.info(
        "refresh: landed %s, built %s nodes, published %s rows, %s node results unrecorded; %s",
        report.landed,
        report.built_nodes,
        report.rows_published,
        report.node_results_unrecorded,
        ", ".join(f"{step} {seconds:.2f} s" for step, seconds in report.seconds.items()),
    )
    return report


def _record_node_results(
    settings: Settings, report: MinuteReport, invocation_id: str, runs: Sequence[dbt.NodeRun]
) -> None:
    """Best effort: the node results are the operations page's, not the dashboards', so a
    failure to write them must not keep the minute's build from being published."""
    try:
        node_results.record(settings, invocation_id, datetime.now(UTC), runs)
    except Exception as error:  # noqa: BLE001 - any failure here is only logged
        report.node_results_unrecorded += len(runs)
        log.warning("refresh: %s dbt node results not recorded: %s", len(runs), error)


def _publish(settings: Settings, report: MinuteReport) -> float | None:
    """Make the build visible where the dashboards read and stamp when; returns the P95
    source-to-dashboard seconds of this refresh's gifts, when it brought any."""
    if settings.is_local:
        from ingestion.serving import copy as serving

        published = serving.publish(settings)
        report.published = True
        report.rows_published = sum(published.rows_written.values())
        return published.dashboard_freshness_p95_seconds
    if not report.built_nodes:
        return None
    # Redshift serves its marts itself: a gift is visible once the build committed.
    report.published = True
    return metrics.stamp_visible_redshift(settings, datetime.now(UTC))

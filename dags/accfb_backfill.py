"""Backfill a window from the raw archive, triggered by hand.

Validate the window (refused with a reason before anything runs) → COPY the window's archived
records from S3 into the backfill landing → the Cosmos build of everything downstream → the
Soda contracts → reconcile: the archive against the landings and ``fct_donations`` for the
window, by event type, records and cents (``accfb reconcile``); any difference fails the run and
alerts. Every step is idempotent: the load adds only records not landed yet, the models merge on
their keys, and the checks only read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import accfb_common as common
from airflow.sdk import DAG, Param, task
from airflow.sdk.exceptions import AirflowFailException
from cosmos import DbtTaskGroup

if TYPE_CHECKING:
    from ingestion.replay.window import Window

common.dbt_environment()


def _sources(params: dict[str, object] | None) -> list[str]:
    requested = (params or {}).get("sources") or []
    return [str(source) for source in requested] if isinstance(requested, list) else []


def _window(window: dict[str, str]) -> Window:
    from ingestion.replay.window import parse_window

    return parse_window(window["start"], window["end"])


with DAG(
    dag_id="accfb_backfill",
    description="Replay a window of the raw archive, rebuild, check",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=common.DEFAULT_ARGS,
    params={
        "window_start": Param("", type="string", description="ISO 8601 with zone, inclusive"),
        "window_end": Param("", type="string", description="ISO 8601 with zone, exclusive"),
        "sources": Param(
            [], type="array", items={"type": "string"}, description="Event sources; [] = all"
        ),
    },
    tags=["accfb", "backfill", "replay"],
    doc_md=__doc__,
) as dag:

    @task
    def validate_window(params: dict[str, object] | None = None) -> dict[str, str]:
        """Refuse a malformed, reversed, future or oversized window; no retry can fix one."""
        from ingestion.replay.window import WindowRefused, parse_window

        params = params or {}
        try:
            window = parse_window(
                params.get("window_start"), params.get("window_end"), now=datetime.now(UTC)
            )
        except WindowRefused as refused:
            raise AirflowFailException(f"backfill refused: {refused}") from None
        return {"start": window.start.isoformat(), "end": window.end.isoformat()}

    @task
    def load_window(window: dict[str, str], params: dict[str, object] | None = None) -> int:
        """COPY the window's archived objects (by manifest) into the backfill landing."""
        from ingestion.replay.loads import load_window as load

        return load(common.settings(), _window(window), _sources(params)).objects

    transform = DbtTaskGroup(
        group_id="transform",
        project_config=common.project_config(),
        profile_config=common.profile_config(),
        execution_config=common.execution_config(),
        render_config=common.render_config(common.STREAMING_SELECTOR),
        default_args=common.DEFAULT_ARGS,
        operator_args=common.WATCHER_OPERATOR_ARGS,
    )

    check_contracts = task(common.verify_contracts, task_id="check_contracts")

    @task
    def reconcile(window: dict[str, str], params: dict[str, object] | None = None) -> int:
        """The archive against the landings and fct_donations for the window (the requested
        sources only), to the cent: proof the backfill neither missed nor doubled a record."""
        from ingestion.operations.reconcile import reconcile as compare

        # Locally the DuckDB file; on Redshift read-only queries beside the archive in S3.
        rows = compare(common.settings(), _window(window), _sources(params))
        differing = [row for row in rows if not row.ok]
        if differing:
            raise common.ReconcileDiffers(differing)
        return len(rows)

    window = validate_window()
    load_window(window) >> transform >> check_contracts() >> reconcile(window)
    common.one_writer(dag, "load_window")

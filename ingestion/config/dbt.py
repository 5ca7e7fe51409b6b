"""Run dbt for the project with the settings' target, paths and telemetry off."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ingestion.config.settings import REPO_ROOT, Settings

# No internet here, and donor data: nothing phones home.
TELEMETRY_OFF = {
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "SODA_CORE_TELEMETRY_ENABLED": "false",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
}


@dataclass(frozen=True)
class NodeRun:
    """One node's result in an invocation, as dbt reports it (its run_results.json)."""

    unique_id: str
    status: str
    seconds: float
    # Redshift reports the rows a statement wrote; DuckDB reports none.
    rows_affected: int | None = None

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The unique id without resource type and project: ``fct_donations``."""
        return self.unique_id.split(".", 2)[-1]


class DbtError(RuntimeError):
    """A dbt command failed; the message names the failing nodes, ``detail`` says only why."""

    def __init__(
        self,
        command: str,
        detail: str,
        *,
        invocation_id: str = "",
        node_runs: tuple[NodeRun, ...] = (),
    ) -> None:
        super().__init__(f"dbt {command} failed: {detail}")
        self.detail = detail
        # What ran before the failure, failed nodes included: the operations page shows them.
        self.invocation_id = invocation_id
        self.node_runs = node_runs


@dataclass(frozen=True)
class DbtResult:
    command: str
    nodes: int
    # What the macros logged with `log(..., info=True)`: how a run-operation reports back.
    logs: tuple[str, ...] = ()
    invocation_id: str = ""
    node_runs: tuple[NodeRun, ...] = ()


def _node_runs(result: Any) -> tuple[NodeRun, ...]:
    runs = []
    for node in getattr(result, "results", None) or []:
        rows = (getattr(node, "adapter_response", None) or {}).get("rows_affected")
        runs.append(
            NodeRun(
                # A node's result carries its node; a run-operation's only its unique_id.
                unique_id=node.node.unique_id if hasattr(node, "node") else node.unique_id,
                status=str(node.status),
                seconds=float(node.execution_time or 0.0),
                rows_affected=None if rows is None else int(rows),
            )
        )
    return tuple(runs)


def dbt_environment(settings: Settings) -> dict[str, str]:
    """Environment for dbt: where the warehouse is and where dbt writes its own files."""
    return {
        **TELEMETRY_OFF,
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_DBT_TARGET": settings.dbt_target,
        "ACCFB_STREAM_NAME": settings.stream_name,
        "DBT_PROFILES_DIR": str(REPO_ROOT / "profiles"),
        "DBT_PROJECT_DIR": str(REPO_ROOT),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.dbt_log_dir),
    }


# Within `parsed_once()`: the project parsed once per target and warehouse name, reused by
# every invocation instead of dbt's own (partial) parse. None outside it.
_parsed: dict[tuple[str, str], Any] | None = None


@contextmanager
def parsed_once() -> Iterator[None]:
    """Within it, dbt parses the project once and every invocation reuses that manifest: even a
    partial parse costs more than a small incremental build.

    Only for a process that never edits the project while it runs. What a parse bakes into the
    manifest and may differ between callers is keyed: the target, and the warehouse file's name
    (dbt-duckdb names the database after it, and each node carries its database). Invocations
    with `--vars` parse as usual, since vars decide which nodes are enabled."""
    global _parsed
    outer, _parsed = _parsed, {}
    try:
        yield
    finally:
        _parsed = outer


def _manifest(settings: Settings) -> Any:
    if _parsed is None:
        return None
    from dbt.cli.main import dbtRunner

    key = (settings.dbt_target, settings.warehouse_path.stem)
    if key not in _parsed:
        result = dbtRunner().invoke(["parse", "--quiet"])
        if not result.success:
            raise DbtError("parse", str(result.exception))
        _parsed[key] = result.result
    return _parsed[key]


def run_dbt(settings: Settings, args: Sequence[str]) -> DbtResult:
    """Invoke dbt in this process (a second invocation skips dbt's ~2.5 s import)."""
    os.environ.update(dbt_environment(settings))
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    from dbt.cli.main import dbtRunner
    from dbt_common.invocation import get_invocation_id

    manifest = None if "--vars" in args else _manifest(settings)

    # A failed run-operation reports its error only as a log event, not in its result.
    operation_errors: list[str] = []
    logs: list[str] = []

    def collect(event: Any) -> None:
        if event.info.name in {"RunningOperationCaughtError", "RunningOperationUncaughtError"}:
            operation_errors.append(str(event.data.exc))
        elif event.info.name == "JinjaLogInfo":
            logs.append(str(event.data.msg))

    result = dbtRunner(manifest=manifest, callbacks=[collect]).invoke([*args, "--quiet"])
    invocation_id = get_invocation_id()
    node_runs = _node_runs(result.result)
    if not result.success:
        failures = []
        for node in getattr(result.result, "results", None) or []:
            if str(node.status) in {"error", "fail", "runtime error"}:
                # A model's result carries its node; a run-operation's only its unique_id.
                name = node.node.name if hasattr(node, "node") else node.unique_id
                failures.append(f"{name}: {node.message or '; '.join(operation_errors)}")
        detail = "; ".join(failures) or str(result.exception)
        raise DbtError(" ".join(args), detail, invocation_id=invocation_id, node_runs=node_runs)
    return DbtResult(" ".join(args), len(node_runs), tuple(logs), invocation_id, node_runs)


def streaming_selection(settings: Settings, current: str | None) -> str:
    """Everything downstream of the landing plus what it reads (seeds, batch staging), or only
    the downstream when nothing but the stream changed since the last build: the rest would be
    rebuilt to the same rows."""
    from ingestion.landing import state as landing_state

    if landing_state.only_stream_landed(settings, current):
        return "stream_events+"
    return "@stream_events"


def build_streaming_models(settings: Settings) -> DbtResult:
    """One pass of the streaming refresh: everything downstream of the landing, with the tests
    bounded by the new data; skipped when nothing landed since the last pass
    (ingestion/landing/state.py)."""
    from ingestion.landing import state as landing_state

    current = landing_state.fingerprint(settings)
    if landing_state.unchanged_since_last_build(settings, current):
        return DbtResult("build (nothing new landed)", 0)
    result = run_dbt(settings, ["build", "--select", streaming_selection(settings, current)])
    landing_state.record_build(settings, current)
    return result

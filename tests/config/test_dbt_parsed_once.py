"""dbt.parsed_once: one parse per target and warehouse name, reused by every invocation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ingestion.config import dbt as dbt_config
from ingestion.config.settings import Environment, Settings


class _Result:
    def __init__(self, result: Any) -> None:
        self.success, self.result, self.exception = True, result, None


class _Runner:
    """Stands in for dbtRunner: records each invocation and the manifest it was given."""

    calls: ClassVar[list[tuple[list[str], Any]]] = []

    def __init__(self, manifest: Any = None, callbacks: Any = None) -> None:
        self.manifest = manifest

    def invoke(self, args: list[str]) -> _Result:
        _Runner.calls.append((args, self.manifest))
        return _Result(object() if args[0] == "parse" else None)


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> type[_Runner]:
    import dbt.cli.main as dbt_main

    _Runner.calls = []
    monkeypatch.setattr(dbt_main, "dbtRunner", _Runner)
    # run_dbt points dbt's environment at these settings: restored after the test.
    for key in dbt_config.dbt_environment(_settings(Path("unused.duckdb"))):
        monkeypatch.setenv(key, os.environ.get(key, ""))
    return _Runner


def _settings(path: Path) -> Settings:
    return Settings(
        environment=Environment("local"), warehouse_path=path, state_dir=path.parent / "state"
    )


def test_one_parse_per_warehouse_name_and_none_outside(
    runner: type[_Runner], tmp_path: Path
) -> None:
    here = _settings(tmp_path / "warehouse.duckdb")
    twin = _settings(tmp_path / "twin" / "warehouse.duckdb")
    other = _settings(tmp_path / "other.duckdb")
    dbt_config.run_dbt(here, ["build"])
    assert runner.calls == [(["build", "--quiet"], None)]

    runner.calls = []
    with dbt_config.parsed_once():
        for settings in (here, twin, other, here):
            dbt_config.run_dbt(settings, ["build"])
        dbt_config.run_dbt(here, ["build", "--vars", "{data_quality: true}"])
    parses = [args for args, _ in runner.calls if args[0] == "parse"]
    # dbt-duckdb names the database after the file: another name is another manifest.
    assert len(parses) == 2
    builds = [manifest for args, manifest in runner.calls if args[0] == "build"]
    assert builds[0] is builds[1] is builds[3] is not None
    assert builds[2] is not None and builds[2] is not builds[0]
    # Vars decide which nodes exist: such an invocation parses as dbt does.
    assert builds[4] is None

    runner.calls = []
    dbt_config.run_dbt(here, ["build"])
    assert runner.calls == [(["build", "--quiet"], None)]

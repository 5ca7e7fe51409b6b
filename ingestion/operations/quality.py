"""The whole-table dbt tests, apart from the minute's build.

The minute's refresh runs only tests bounded by the new batches (tag ``minute``); every test that
reads a whole table exists only when the ``data_quality`` var is set (dbt_project.yml), and runs
here, on the data-quality DAG's schedule, where a failure alerts and no mart waits on it. A
separate target directory keeps the refresh's partial parse (made without the var) intact.
"""

from __future__ import annotations

from ingestion.config import dbt
from ingestion.config.settings import Settings

DATA_QUALITY_VARS = "{data_quality: true}"


def run_data_quality_tests(settings: Settings, *, unit_tests: bool = False) -> dbt.DbtResult:
    """Every data test of the project on the warehouse as it is; raises DbtError on a failure.
    ``unit_tests`` adds dbt's unit tests (CI runs them; the DAG does not need to)."""
    args = [
        "test",
        "--vars",
        DATA_QUALITY_VARS,
        "--target-path",
        str(settings.dbt_target_dir / "data-quality"),
    ]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return dbt.run_dbt(settings, args)

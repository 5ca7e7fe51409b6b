"""The dbt project names no folder that is not there, and a build's fingerprint reads what the
project reads."""

from __future__ import annotations

from ingestion.config.settings import REPO_ROOT
from ingestion.landing import state


def test_every_path_the_project_and_the_fingerprint_name_exists() -> None:
    named = state.project_paths()

    assert {"dbt_project.yml", "models", "macros", "seeds"} <= set(named)
    assert [path for path in named if not (REPO_ROOT / path).exists()] == []

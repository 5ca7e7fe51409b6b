"""MWAA's requirements are the lock's versions, and cover everything the DAGs import to parse.

The file is generated (``make mwaa-requirements``); a hand edit or a lock bump without
regenerating fails here. Parsing every DAG in a fresh interpreter lists the distributions it
imported; each must come with MWAA's image (Airflow and what it depends on, plus what the
generator declares provided), with a package of the file (or what that depends on), or be the
pipeline's own package, which ships beside the DAGs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

from infra.mwaa import generate
from ingestion.config.settings import REPO_ROOT

_PROBE = """
import importlib.util, json, pathlib, sys
from importlib.metadata import packages_distributions
dags = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(dags))
for path in sorted(dags.glob("*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
owners = packages_distributions()
tops = {name.split(".")[0] for name in sys.modules} - set(sys.stdlib_module_names)
print(json.dumps(sorted({d for top in tops for d in owners.get(top, [])})))
"""


# Imported only when present: jsonschema (Airflow validates Params with it) loads its format
# checkers' libraries if installed and runs without them otherwise.
OPTIONAL_IMPORTS = {"jsonpointer", "rfc3339-validator"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(roots: list[str]) -> set[str]:
    """The installed distributions ``roots`` need, transitively, as pip resolves them: a
    requirement's extras pull in that distribution's requirements for those extras."""
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset()) for root in roots]
    found: set[str] = set()
    while todo:
        name, extras = todo.pop()
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        found.add(_norm(name))
        for extra in {"", *extras}:
            if (_norm(name), extra) in seen:
                continue
            seen.add((_norm(name), extra))
            for text in requires:
                requirement = Requirement(text)
                if requirement.marker is None or requirement.marker.evaluate({"extra": extra}):
                    todo.append((requirement.name, frozenset(requirement.extras)))
    return found


def test_the_mwaa_requirements_are_generated_from_the_lock() -> None:
    assert generate.REQUIREMENTS.read_text() == generate.render(generate.LOCK.read_text())


def test_a_stale_requirements_file_is_caught(tmp_path: Path) -> None:
    lock = generate.LOCK.read_text().replace("astronomer-cosmos==", "astronomer-cosmos==0.0.0+")
    assert generate.render(lock) != generate.REQUIREMENTS.read_text()


def test_every_distribution_the_dags_import_to_parse_is_on_the_workers(airflow_db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(REPO_ROOT / "dags")],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ),
    )
    imported = {_norm(d) for d in json.loads(result.stdout.strip().splitlines()[-1])}
    required = [line.split("==")[0] for line in generate.REQUIREMENTS.read_text().splitlines()]
    on_workers = _closure([*generate.PROVIDED, *(r for r in required if not r.startswith("#"))])
    own = {_norm(distribution("accfb-pipeline").metadata["Name"])}
    assert imported - on_workers - own - OPTIONAL_IMPORTS == set()
    # The probe saw the DAGs' real imports, so this proves something: Cosmos is among them.
    assert "astronomer-cosmos" in imported

"""Write ``infra/mwaa/requirements.txt`` from the lock, so MWAA runs the versions the tests ran.

MWAA's image brings Airflow and its providers (the Amazon provider among them, so boto3 and
botocore); the workers need the packages below on top, pinned to ``requirements.lock``. A test
(tests/dags/test_mwaa_requirements.py) fails when the file differs from what this writes, and
when a DAG imports at parse time a distribution neither MWAA nor these packages bring.

    python -m infra.mwaa.generate          # rewrite
    python -m infra.mwaa.generate --check  # exit 1 when stale (``make mwaa-requirements``)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / "requirements.lock"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")

# Installed on the workers: Cosmos renders the DAGs, dbt and Soda run in their tasks against
# Redshift, and the pipeline's own package (shipped with the DAGs) reads its settings with
# pydantic-settings.
PACKAGES = (
    "astronomer-cosmos",
    "dbt-core",
    "dbt-redshift",
    "soda-core",
    "soda-redshift",
    "pydantic-settings",
)
# In MWAA's image already: pinning them again would fight its constraints file.
PROVIDED = ("apache-airflow", "boto3", "botocore")

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)", re.M)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_versions(lock_text: str) -> dict[str, str]:
    return {_normalise(m["name"]): m["version"] for m in _PIN.finditer(lock_text)}


def render(lock_text: str) -> str:
    versions = locked_versions(lock_text)
    missing = [p for p in PACKAGES if _normalise(p) not in versions]
    if missing:
        raise SystemExit(f"not in {LOCK.name}: {', '.join(missing)}")
    lines = [
        "# Generated from requirements.lock by `make mwaa-requirements`: do not edit by hand.",
        "# MWAA's image provides " + ", ".join(PROVIDED) + ".",
        *(f"{p}=={versions[_normalise(p)]}" for p in PACKAGES),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    wanted = render(LOCK.read_text())
    current = REQUIREMENTS.read_text() if REQUIREMENTS.exists() else ""
    if args.check:
        if current != wanted:
            print(f"{REQUIREMENTS} is stale: run `make mwaa-requirements`", file=sys.stderr)
            return 1
        return 0
    REQUIREMENTS.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`accfb`: the pipeline's command line, one module per command group.

``stream`` (endpoint, publishing, landing, refresh, demo), ``archive`` (archive, replay, batch
loads), ``operations`` (reconcile, trace, checks, cost, contract SQL, local Airflow),
``serving`` (live SQL, dashboards, the lineage site), ``smoke`` (the first real
workgroup's end-to-end check). Each command is a thin shell over the stage that does the work.
Whatever a command raises, ``errors.handled`` turns into one or two lines and an exit code (2
usage or configuration, 1 run time).
"""

from __future__ import annotations

import logging
import os
import sys

from ingestion.cli import errors
from ingestion.cli.app import app

# Registration order is the order `accfb --help` lists the commands: the data's path.
# isort: off
from ingestion.cli import stream
from ingestion.cli import archive
from ingestion.cli import operations
from ingestion.cli import serving
from ingestion.cli import smoke

# isort: on

__all__ = ["app", "archive", "main", "operations", "serving", "smoke", "stream"]


def main() -> None:
    # Read before the settings object: `accfb --help` and a misconfigured command must log too.
    logging.basicConfig(
        level=os.environ.get("ACCFB_LOG_LEVEL", "WARNING").upper(), stream=sys.stderr
    )
    with errors.handled():
        app()

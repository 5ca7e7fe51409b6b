"""Run the Soda v4 contracts of the public marts against the warehouse (`accfb check`).

One contract per public mart lives in ``soda/contracts/<model>.yml``; a test fails when a mart has
none. A failed check is reported with what was measured and the threshold it broke, the two
things an alert must carry.

Locally the contracts run on the DuckDB warehouse (soda-duckdb). On the Redshift targets they run
through soda-redshift with the workgroup's endpoint and temporary database credentials from IAM;
Soda names a Redshift table database/schema/table, so the contracts' ``accfb/<schema>/<table>``
gain the database there.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.config import aws, warehouse
from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import REPO_ROOT, Settings

CONTRACTS_DIR = REPO_ROOT / "soda" / "contracts"
# The Soda data source name, the first part of every contract's `dataset`.
DATA_SOURCE = "accfb"
# GetCredentials' shortest lifetime: enough for one pass over the contracts.
CREDENTIALS_SECONDS = 900
_DATASET = re.compile(rf"^dataset:\s*{DATA_SOURCE}/", re.MULTILINE)


class ChecksUnavailable(RuntimeError):
    """The contracts cannot run against this target; the message says what to install or grant."""


@dataclass(frozen=True)
class CheckFailure:
    contract: str
    check: str
    column: str
    measured: str
    threshold: str


@dataclass
class CheckReport:
    contracts: list[str] = field(default_factory=list)
    checks: int = 0
    failures: list[CheckFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.errors


def contract_paths(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(contracts_dir.glob("*.yml"))


def _threshold_text(threshold: object) -> str:
    bounds = {
        "must_be": "=",
        "must_not_be": "!=",
        "must_be_greater_than": ">",
        "must_be_greater_than_or_equal": ">=",
        "must_be_less_than": "<",
        "must_be_less_than_or_equal": "<=",
    }
    parts = [
        f"{op} {getattr(threshold, name)}"
        for name, op in bounds.items()
        if getattr(threshold, name, None) is not None
    ]
    return " and ".join(parts) or "n/a"


def redshift_data_source(settings: Settings, serverless: Any | None = None) -> dict[str, Any]:
    """Soda's data source for the Redshift target: the workgroup's endpoint (``redshift_host``, or
    looked up) and temporary credentials for the AWS session's IAM identity, so no password is
    configured or stored anywhere."""
    serverless = serverless or aws.client("redshift-serverless", settings)
    host, port = settings.redshift_host, settings.redshift_port
    try:
        if host is None:
            workgroup = serverless.get_workgroup(workgroupName=settings.workgroup)["workgroup"]
            host, port = workgroup["endpoint"]["address"], workgroup["endpoint"]["port"]
        login = serverless.get_credentials(
            workgroupName=settings.workgroup,
            dbName=settings.redshift_database,
            durationSeconds=CREDENTIALS_SECONDS,
        )
    except (BotoCoreError, ClientError) as error:
        lookup = "" if settings.redshift_host else " and GetWorkgroup (or set ACCFB_REDSHIFT_HOST)"
        raise ChecksUnavailable(
            f"no Redshift credentials for workgroup {settings.workgroup!r} through IAM: {error}. "
            f"The AWS session needs redshift-serverless:GetCredentials{lookup}; the workgroup "
            "comes from ACCFB_REDSHIFT_WORKGROUP (default accfb-<target>)"
        ) from error
    return {
        "type": "redshift",
        "name": DATA_SOURCE,
        "connection": {
            "host": host,
            "port": port,
            "database": settings.redshift_database,
            "user": login["dbUser"],
            "password": login["dbPassword"],
            "connect_timeout": 10,
        },
    }


def contract_in_database(text: str, database: str) -> str:
    """A contract's ``dataset: accfb/<schema>/<table>`` as Redshift names it, with the database."""
    if not _DATASET.search(text):
        raise ValueError(f"a contract's dataset must start with {DATA_SOURCE}/")
    return _DATASET.sub(f"dataset: {DATA_SOURCE}/{database}/", text, count=1)


def _redshift_impl(config: dict[str, Any]) -> Any:
    try:
        from soda_redshift.common.data_sources.redshift_data_source import (
            RedshiftDataSourceImpl,
        )
        from soda_redshift.common.data_sources.redshift_data_source_connection import (
            RedshiftDataSource,
        )
    except ImportError as error:
        raise ChecksUnavailable(
            "accfb check on Redshift needs the soda-redshift package (soda-redshift==4.28.*, in "
            "requirements.lock; on MWAA add it to the environment's requirements.txt): "
            f"{error}"
        ) from None
    return RedshiftDataSourceImpl(data_source_model=RedshiftDataSource.model_validate(config))


def run_checks(settings: Settings, contracts: Sequence[Path] | None = None) -> CheckReport:
    """Verify each contract; the local warehouse is held only for the checks, then released."""
    os.environ.update(TELEMETRY_OFF)  # must precede importing soda_core
    import soda_core  # noqa: F401  (registers the data source plugins before the next import)

    paths = list(contracts) if contracts is not None else contract_paths()
    if settings.dbt_target == "local":
        from soda_duckdb.common.data_sources.duckdb_data_source import DuckDBDataSourceImpl

        with warehouse.connect(settings.warehouse_path) as con:
            return _verify(DuckDBDataSourceImpl.from_existing_cursor(con, DATA_SOURCE), paths)
    data_source = _redshift_impl(redshift_data_source(settings))
    with tempfile.TemporaryDirectory(prefix="accfb-contracts-") as folder:
        in_database = []
        for path in paths:
            copy = Path(folder) / path.name
            text = path.read_text(encoding="utf-8")
            copy.write_text(contract_in_database(text, settings.redshift_database), "utf-8")
            in_database.append(copy)
        return _verify(data_source, in_database)


def _verify(data_source: Any, paths: Sequence[Path]) -> CheckReport:
    from soda_core.contracts.api.verify_api import verify_contract_locally

    report = CheckReport()
    for path in paths:
        report.contracts.append(path.stem)
        session = verify_contract_locally(data_sources=[data_source], contract_file_path=str(path))
        if session.has_errors:
            report.errors.append(f"{path.stem}: {session.get_errors_str()}")
        for result in session.contract_verification_results:
            for check in result.check_results:
                report.checks += 1
                if not check.is_failed:
                    continue
                row = check.log_table_row()
                report.failures.append(
                    CheckFailure(
                        contract=path.stem,
                        check=str(row.get("Check", check.check.name)),
                        column=str(row.get("Column", "")),
                        measured=str(row.get("Diagnostics", "")).replace("\n", ", "),
                        threshold=_threshold_text(row.get("Threshold")),
                    )
                )
    return report

"""Run the Soda v4 contracts of the public marts against the warehouse (`accfb check`).

One contract per public mart lives in ``soda/contracts/<model>.yml``; a test fails when a mart has
none. A failed check is reported with what was measured and the threshold it broke, the two
things an alert must carry.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingestion import warehouse
from ingestion.dbt import TELEMETRY_OFF
from ingestion.settings import REPO_ROOT, Settings

CONTRACTS_DIR = REPO_ROOT / "soda" / "contracts"
# The Soda data source name, the first part of every contract's `dataset`.
DATA_SOURCE = "accfb"


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


def run_checks(settings: Settings, contracts: Sequence[Path] | None = None) -> CheckReport:
    """Verify each contract; the warehouse is held only for the checks, then released."""
    if settings.dbt_target != "local":
        raise NotImplementedError(
            "accfb check runs against the local DuckDB warehouse; on Redshift the contracts run "
            "through a soda_redshift data source configured by the deployment"
        )
    os.environ.update(TELEMETRY_OFF)  # must precede importing soda_core
    import soda_core  # noqa: F401  (registers the data source plugins before the next import)
    from soda_core.contracts.api.verify_api import verify_contract_locally
    from soda_duckdb.common.data_sources.duckdb_data_source import DuckDBDataSourceImpl

    report = CheckReport()
    with warehouse.connect(settings.warehouse_path) as con:
        data_source = DuckDBDataSourceImpl.from_existing_cursor(con, DATA_SOURCE)
        for path in contracts if contracts is not None else contract_paths():
            report.contracts.append(path.stem)
            session = verify_contract_locally(
                data_sources=[data_source], contract_file_path=str(path)
            )
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

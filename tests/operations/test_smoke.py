"""`accfb smoke` refuses clearly without a deployment, and builds only into scratch schemas.

The smoke itself needs the deployed stream and workgroup, which cannot be reached here: what is
proven here is its refusal (one line, non-zero, nothing sent), that its scratch build can never
write the real schemas or move a real model's processed-batch mark, and that its contracts
read the scratch schemas. Its own SQL goes through the Redshift rules check with every other
statement (tests/warehouse/test_redshift_statements.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingestion.config.settings import Environment, Settings
from ingestion.operations.checks import contract_paths
from ingestion.operations.smoke import refusal, scratch_contract
from tests.warehouse.test_redshift_compile import _compile_for_redshift

ACCFB = str(Path(sys.executable).parent / "accfb")


def _run_smoke(environment: dict[str, str], home: Path) -> subprocess.CompletedProcess[str]:
    # No AWS identity of this machine's reaches the command: no variables, no files, no IMDS.
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ACCFB_"))}
    return subprocess.run(
        [ACCFB, "smoke"],
        env={
            **kept,
            "HOME": str(home),
            "AWS_CONFIG_FILE": str(home / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_smoke_refuses_the_local_settings_in_one_line(tmp_path: Path) -> None:
    done = _run_smoke({"ACCFB_ENVIRONMENT": "local", "ACCFB_STATE_DIR": str(tmp_path)}, tmp_path)

    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("accfb smoke: refused: these are the local settings")
    assert "deployed workgroup" in line


def test_smoke_refuses_a_deployment_without_aws_credentials(tmp_path: Path) -> None:
    deployed = {
        "ACCFB_ENVIRONMENT": "dev",
        "ACCFB_DBT_TARGET": "dev",
        "ACCFB_ALERT_TOPIC_ARN": "arn:aws:sns:us-west-2:000000000000:accfb-dev-ticket",
        "ACCFB_STATE_DIR": str(tmp_path),
    }

    done = _run_smoke(deployed, tmp_path)

    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("accfb smoke: refused: this session has no AWS credentials for dev")


def test_the_refusal_names_what_is_missing_and_passes_a_deployment_with_credentials() -> None:
    local = Settings(environment=Environment.LOCAL)
    deployed = Settings.model_construct(
        **{**local.__dict__, "environment": Environment.PROD, "aws_endpoint_url": None}
    )

    assert "local settings" in (refusal(local, lambda: object()) or "")
    assert "no AWS credentials for prod" in (refusal(deployed, lambda: None) or "")
    assert refusal(deployed, lambda: object()) is None


def test_the_scratch_build_writes_scratch_schemas_and_marks_only(tmp_path: Path) -> None:
    rendered = _compile_for_redshift(
        tmp_path,
        "--vars",
        "{offline_is_incremental: true, scratch_schema: smoke_20261201000000}",
        "--inline",
        "{{ generate_schema_name('marts', none) }}|{{ generate_schema_name(none, none) }}"
        "|{{ processed_mark('rpt_open_partner_orders__shipments') }}",
    )

    marts, fallback, mark = rendered.strip().split("|")
    assert marts == "smoke_20261201000000_marts"
    assert fallback.startswith("smoke_20261201000000_")
    assert mark == "smoke_20261201000000:rpt_open_partner_orders__shipments"


def test_the_contracts_are_verified_on_the_scratch_schemas() -> None:
    for path in contract_paths():
        moved = scratch_contract(path.read_text("utf-8"), "smoke_x")
        (dataset,) = [line for line in moved.splitlines() if line.startswith("dataset:")]
        assert dataset.startswith("dataset: accfb/smoke_x_"), dataset
        assert "/marts/" not in dataset and "/ops/" not in dataset


def test_the_reconcile_reads_columns_fct_donations_has() -> None:
    import sqlglot
    import yaml
    from sqlglot import exp

    from ingestion.config.settings import REPO_ROOT
    from ingestion.operations.smoke import reconcile_sql

    models = yaml.safe_load(
        (REPO_ROOT / "models/marts/fundraising/_fundraising__models.yml").read_text()
    )["models"]
    (fct,) = [m for m in models if m["name"] == "fct_donations"]
    declared = {c["name"] for c in fct["columns"]}
    tree = sqlglot.parse_one(reconcile_sql("smoke_x", ["d-1"]), read="redshift")

    assert {t.sql() for t in tree.find_all(exp.Table)} == {"smoke_x_marts.fct_donations"}
    assert {c.name for c in tree.find_all(exp.Column)} <= declared

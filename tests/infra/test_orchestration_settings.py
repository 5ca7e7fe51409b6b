"""The MWAA workers get this deployment's settings from the stacks, and they pass validation.

The startup script is read from the synthesised asset, its deploy-time markers replaced by the
CloudFormation values they stand for, and then run by ``sh`` as MWAA would run it. It holds no
secret: the PII hash key is read by the warehouse's Lambda UDF alone.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template

from infra.pipeline import PipelineStage
from infra.settings import PROD
from infra.stacks.monitoring import Severity
from ingestion.config.settings import Environment, Settings
from tests.infra.conftest import Synthesised


def _deployment(stage: PipelineStage, prefix: str) -> dict[str, Any]:
    found = Template.from_stack(stage.orchestration).find_resources(
        "Custom::CDKBucketDeployment",
        {"Properties": {"DestinationBucketKeyPrefix": prefix}},
    )
    (resource,) = found.values()
    props: dict[str, Any] = resource["Properties"]
    return props


def _startup_script(synthesised: Synthesised) -> tuple[str, dict[str, Any]]:
    """The script's text and the CloudFormation value behind each of its markers."""
    props = _deployment(synthesised.prod, "config")
    for key, markers in zip(props["SourceObjectKeys"], props["SourceMarkers"], strict=True):
        asset = synthesised.outdir / "assembly-Prod" / f"../asset.{key.removesuffix('.zip')}"
        script = asset / "startup.sh"
        if script.exists():
            return script.read_text(), markers
    raise AssertionError("no startup.sh among the config/ deployment's sources")


def test_the_environment_runs_the_startup_script(prod: PipelineStage) -> None:
    Template.from_stack(prod.orchestration).has_resource_properties(
        "AWS::MWAA::Environment", {"StartupScriptS3Path": "config/startup.sh"}
    )


def test_the_startup_script_gives_the_workers_settings_that_validate(
    synthesised: Synthesised, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, markers = _startup_script(synthesised)
    # Stand-ins for deploy-time values: a readable name per marker, checked below.
    for marker, value in markers.items():
        text = text.replace(marker, f"resolved-{json.dumps(value, sort_keys=True)}"[:200])
    (tmp_path / "startup.sh").write_text(text)
    shown = subprocess.run(
        ["/bin/sh", "-c", ". ./startup.sh && env -0"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    ).stdout.decode()
    env = dict(line.split("=", 1) for line in shown.split("\0") if "=" in line)
    accfb = {name: value for name, value in env.items() if name.startswith("ACCFB_")}

    # dbt's on-run-start declares f_accfb_pii_hmac with these (macros/pii/pii_hash.sql).
    assert "PiiHashFn" in accfb["ACCFB_PII_HASH_LAMBDA"]
    assert "PiiHashInvokeRole" in accfb["ACCFB_REDSHIFT_LAMBDA_ROLE_ARN"]
    ticket = Template.from_stack(synthesised.prod.monitoring).find_resources(
        "AWS::SNS::Topic", {"Properties": {"TopicName": f"{PROD.prefix}-{Severity.TICKET}"}}
    )
    assert next(iter(ticket)) in accfb["ACCFB_ALERT_TOPIC_ARN"]
    assert "WorkgroupEndpointAddress" in accfb["ACCFB_REDSHIFT_HOST"]
    assert "StreamingIngestionRole" in accfb["ACCFB_REDSHIFT_COPY_ROLE_ARN"]

    for name in [n for n in os.environ if n.startswith("ACCFB_")]:
        monkeypatch.delenv(name)
    for name, value in accfb.items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.environment is Environment.PROD
    assert settings.dbt_target == "prod"
    assert settings.workgroup == PROD.prefix
    assert not settings.is_local


def test_the_startup_script_holds_no_key_and_reads_no_secret(synthesised: Synthesised) -> None:
    text, markers = _startup_script(synthesised)
    shown = (text + json.dumps(markers)).lower()
    for needle in ("pii_hash_key", "pii-hash-key", "secretsmanager", "secret"):
        assert needle not in shown


def test_the_workers_may_publish_alerts_but_not_read_the_hash_key(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.orchestration)
    actions: set[str] = set()
    secrets: list[Any] = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            action = statement["Action"]
            actions.update([action] if isinstance(action, str) else action)
            if "secretsmanager:GetSecretValue" in action:
                secrets.append(statement["Resource"])
    assert "sns:Publish" in actions
    # Airflow's connections and variables only; the key is under accfb-<env>/warehouse/.
    assert len(secrets) == 1 and "secret:airflow/*" in json.dumps(secrets[0])
    assert not template.find_resources("AWS::SecretsManager::Secret")


def test_the_package_ships_beside_the_dags(prod: PipelineStage) -> None:
    props = _deployment(prod, "dags/ingestion")
    assert props["Prune"] is True  # a module deleted from the repo leaves the workers too
    Template.from_stack(prod.orchestration).has_resource_properties(
        "AWS::MWAA::Environment", {"DagS3Path": "dags", "SourceBucketArn": Match.any_value()}
    )

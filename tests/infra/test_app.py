"""The whole app: it synthesises offline, passes cdk-nag and cfn-lint, and keeps its layout."""

from __future__ import annotations

import json
import subprocess
import sys

from aws_cdk.assertions import Template

from infra.pipeline import PipelineStage
from tests.infra.conftest import Synthesised

# cfn-lint warnings that CDK itself produces and we accept:
# W3005 a DependsOn CDK adds beside a GetAtt (the role's policy must exist before use);
# W3045 AccessControl on CDK's server-access-log buckets; W3010 the AZs are pinned on purpose
# (Redshift Serverless needs three named AZs).
ACCEPTED_WARNINGS = {"W3005", "W3045", "W3010"}


def test_cdk_nag_finds_nothing_unacknowledged(synthesised: Synthesised) -> None:
    report = json.loads((synthesised.outdir / "validation-report.json").read_text())
    assert [p["conclusion"] for p in report["pluginReports"]] == ["success"]


def test_every_template_passes_cfn_lint(synthesised: Synthesised) -> None:
    templates = sorted(str(p) for p in synthesised.outdir.glob("assembly-*/*.template.json"))
    assert len(templates) == 18  # 9 component stacks x 2 environments
    result = subprocess.run(
        [sys.executable, "-m", "cfnlint", "--format", "json", *templates],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout or "[]")
    unexpected = [
        f"{f['Rule']['Id']} {f['Filename']}: {f['Message']}"
        for f in findings
        if f["Rule"]["Id"] not in ACCEPTED_WARNINGS
    ]
    assert unexpected == []


def test_dev_and_prod_are_separate_stacks_per_component(
    dev: PipelineStage, prod: PipelineStage
) -> None:
    for stage in (dev, prod):
        names = {s.stack_name for s in (stage.streaming, stage.archive, stage.warehouse)}
        assert len(names) == 3
    assert dev.streaming.stack_name != prod.streaming.stack_name


def test_no_secret_values_in_any_template(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.edge)
    for secret in template.find_resources("AWS::SecretsManager::Secret").values():
        assert "SecretString" not in secret["Properties"]

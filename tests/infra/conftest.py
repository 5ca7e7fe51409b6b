"""Synthesise the CDK app once per session, offline, with cdk-nag's checks on.

The environment is set before aws_cdk is imported: jsii starts Node on first use and reads its
cache location then. Synthesis failing (including any unacknowledged cdk-nag finding, which
fails CDK's policy validation) fails every test here, on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_RUNTIME_PACKAGE_CACHE_ROOT", str(REPO_ROOT / ".accfb" / "jsii"))
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
# No account lookups and no version checks: synthesis must not try the network.
os.environ.pop("CDK_DEFAULT_ACCOUNT", None)
os.environ["CDK_DISABLE_VERSION_CHECK"] = "1"

from aws_cdk import App, Validations, cx_api  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from infra.pipeline import PipelineStage  # noqa: E402
from infra.settings import DEV, PROD  # noqa: E402


@dataclass(frozen=True)
class Synthesised:
    dev: PipelineStage
    prod: PipelineStage
    assembly: cx_api.CloudAssembly
    outdir: Path


@pytest.fixture(scope="session")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesised]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    os.environ["CDK_OUTDIR"] = str(outdir)
    app = App(outdir=str(outdir))
    dev = PipelineStage(app, "Dev", config=DEV)
    prod = PipelineStage(app, "Prod", config=PROD)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    yield Synthesised(dev=dev, prod=prod, assembly=app.synth(), outdir=outdir)


@pytest.fixture(scope="session")
def prod(synthesised: Synthesised) -> PipelineStage:
    return synthesised.prod


@pytest.fixture(scope="session")
def dev(synthesised: Synthesised) -> PipelineStage:
    return synthesised.dev

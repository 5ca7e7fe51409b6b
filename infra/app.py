#!/usr/bin/env python3
"""CDK entry point: one PipelineStage per environment, with cdk-nag's AWS Solutions checks.

Run from anywhere (`python infra/app.py` or `cdk synth` inside infra/): the repository root is
put on the import path so the `infra` and `ingestion` packages resolve the same way as in tests.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.pipeline import PipelineStage
from infra.settings import ENVIRONMENTS


def main() -> None:
    app = App()
    for config in ENVIRONMENTS:
        PipelineStage(
            app,
            config.name.title(),
            config=config,
            # The account comes from the deploying credentials (or CDK_DEFAULT_ACCOUNT); none is
            # written here, and synth works without one.
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),
        )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()


if __name__ == "__main__":
    main()

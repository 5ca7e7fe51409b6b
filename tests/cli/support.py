"""Running the real `accfb` command the way a person does: a process of the installed script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingestion.config.dbt import TELEMETRY_OFF
from ingestion.config.settings import Settings

ACCFB = str(Path(sys.executable).parent / "accfb")


def clean_env(**variables: str) -> dict[str, str]:
    """This environment without any ACCFB_ or AWS setting (no credentials, no instance metadata
    lookup), plus ``variables``."""
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("ACCFB_", "AWS_", "DBT_"))
    }
    return {
        **kept,
        **TELEMETRY_OFF,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **variables,
    }


def local_env(settings: Settings, **variables: str) -> dict[str, str]:
    """The environment that makes an `accfb` process use these local settings."""
    return clean_env(
        ACCFB_ENVIRONMENT="local",
        ACCFB_STATE_DIR=str(settings.state_dir),
        ACCFB_WAREHOUSE_PATH=str(settings.warehouse_path),
        ACCFB_AWS_ENDPOINT_URL=settings.aws_endpoint_url or "",
        ACCFB_STREAM_NAME=settings.stream_name,
        ACCFB_RAW_BUCKET=settings.raw_bucket,
        **variables,
    )


def deployed_env(tmp_path: Path, **variables: str) -> dict[str, str]:
    """A complete prod environment with no AWS credentials anywhere."""
    return clean_env(
        ACCFB_ENVIRONMENT="prod",
        ACCFB_DBT_TARGET="prod",
        ACCFB_ALERT_TOPIC_ARN="arn:aws:sns:us-west-2:123456789012:accfb-prod-alerts",
        ACCFB_REDSHIFT_HOST="127.0.0.1",
        ACCFB_STATE_DIR=str(tmp_path / "state"),
        **variables,
    )


def accfb(
    *args: str, env: dict[str, str], stdin: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ACCFB, *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

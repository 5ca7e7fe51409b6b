"""The environment setting is required, and a deployed environment refuses the local defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestion.config.settings import Environment, Settings

TOPIC = "arn:aws:sns:us-west-2:123456789012:accfb-prod-ticket"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No ACCFB_* variable from the shell or the test session leaks into these settings."""
    for name in (
        "ACCFB_ENVIRONMENT",
        "ACCFB_AWS_ENDPOINT_URL",
        "ACCFB_DBT_TARGET",
        "ACCFB_ALERT_TOPIC_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_environment_is_refused(clean_environment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match="environment"):
        Settings()


def test_a_deployed_environment_with_the_local_defaults_is_refused_with_every_reason(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("ACCFB_ENVIRONMENT", "prod")
    with pytest.raises(ValidationError) as refused:
        Settings()
    message = str(refused.value)
    assert "ACCFB_DBT_TARGET is 'local', not 'prod'" in message
    assert "ACCFB_ALERT_TOPIC_ARN is unset" in message


def test_a_deployed_environment_refuses_a_loopback_endpoint(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="ACCFB_AWS_ENDPOINT_URL is set"):
        Settings(
            environment=Environment.DEV,
            dbt_target="dev",
            alert_topic_arn=TOPIC,
            aws_endpoint_url="http://127.0.0.1:4566",
        )


def test_a_deployed_environment_refuses_another_environments_target(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValidationError, match="not 'dev'"):
        Settings(environment=Environment.DEV, dbt_target="prod", alert_topic_arn=TOPIC)


def test_a_deployed_environment_with_its_variables_is_accepted(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("ACCFB_ENVIRONMENT", "prod")
    clean_environment.setenv("ACCFB_DBT_TARGET", "prod")
    clean_environment.setenv("ACCFB_ALERT_TOPIC_ARN", TOPIC)
    settings = Settings()
    assert settings.environment is Environment.PROD
    assert not settings.is_local


def test_local_keeps_its_defaults(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("ACCFB_ENVIRONMENT", "local")
    settings = Settings()
    assert settings.dbt_target == "local"
    assert settings.alert_topic_arn is None


def test_the_state_dir_moves_the_warehouse_too(
    clean_environment: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_environment.setenv("ACCFB_ENVIRONMENT", "local")
    clean_environment.delenv("ACCFB_WAREHOUSE_PATH", raising=False)
    clean_environment.setenv("ACCFB_STATE_DIR", str(tmp_path / "run-b"))

    moved = Settings.from_environment()

    assert moved.warehouse_path == tmp_path / "run-b" / "warehouse.duckdb"
    assert moved.dbt_target_dir.is_relative_to(tmp_path / "run-b")
    clean_environment.setenv("ACCFB_WAREHOUSE_PATH", str(tmp_path / "elsewhere.duckdb"))
    assert Settings.from_environment().warehouse_path == tmp_path / "elsewhere.duckdb"

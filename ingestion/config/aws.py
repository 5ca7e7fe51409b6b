"""boto3 clients for the pipeline's settings: the local endpoint when set, otherwise AWS."""

from __future__ import annotations

from typing import Any

from botocore.config import Config

from ingestion.config.clients import make_client
from ingestion.config.settings import Settings

# Standard mode retries throttling (ProvisionedThroughputExceededException included) and
# transient network errors with exponential backoff and jitter, inside botocore.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=16)


def client(service: str, settings: Settings, config: Config | None = None) -> Any:
    """Return a boto3 client for ``service``, pointed at the local endpoint when one is set."""
    merged = _CLIENT_CONFIG.merge(config) if config else _CLIENT_CONFIG
    return make_client(
        service, region=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=merged
    )

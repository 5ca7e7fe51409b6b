"""boto3 clients that honour the local endpoint setting and otherwise behave as in AWS."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from ingestion.settings import Settings

# Standard mode retries throttling (ProvisionedThroughputExceededException included) and
# transient network errors with exponential backoff and jitter, inside botocore.
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=16)

# moto accepts any credentials; fixed ones keep a laptop's real AWS profile out of local runs.
_LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def client(service: str, settings: Settings, config: Config | None = None) -> Any:
    """Return a boto3 client for ``service``, pointed at the local endpoint when one is set."""
    merged = _CLIENT_CONFIG.merge(config) if config else _CLIENT_CONFIG
    if settings.aws_endpoint_url is None:
        # The service is chosen at run time, which the per-service stub overloads cannot type.
        return boto3.session.Session().client(  # type: ignore[call-overload]
            service, region_name=settings.aws_region, config=merged
        )
    return boto3.session.Session(
        aws_access_key_id=_LOCAL_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=_LOCAL_CREDENTIALS["aws_secret_access_key"],
    ).client(  # type: ignore[call-overload]
        service,
        region_name=settings.aws_region,
        endpoint_url=settings.aws_endpoint_url,
        config=merged,
    )

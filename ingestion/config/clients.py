"""The one boto3 client factory: the local endpoint when one is set, otherwise AWS as is.

Standard library and boto3 only, because the Lambda handlers use it too and their runtime has
nothing else; ``ingestion.config.aws`` binds it to the pipeline's settings.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# moto accepts any credentials; fixed ones keep a laptop's real AWS profile out of local runs.
_LOCAL_KEY = "local"


def make_client(service: str, *, region: str, endpoint_url: str | None, config: Config) -> Any:
    """A boto3 client for ``service``; typed Any because the per-service stub overloads need a
    literal service name."""
    if endpoint_url is None:
        session = boto3.session.Session()
        return session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
    session = boto3.session.Session(
        aws_access_key_id=_LOCAL_KEY,
        aws_secret_access_key=_LOCAL_KEY,
    )
    return session.client(  # type: ignore[call-overload]
        service, region_name=region, endpoint_url=endpoint_url, config=config
    )

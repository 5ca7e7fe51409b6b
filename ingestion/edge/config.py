"""The edge handlers' settings, read once from the environment the stack sets.

The names match ``ingestion.config.settings.Settings`` (``ACCFB_`` prefix) so a local run points the
handlers at the same endpoint and stream; a frozen dataclass rather than pydantic-settings
because the Lambda runtime does not ship pydantic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from ingestion.config.clients import make_client

# Standard retry mode retries throttling and transient errors with backoff inside botocore;
# short timeouts so a slow dependency fails the request instead of the Lambda's own timeout.
_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5
)


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    stream_name: str
    region: str = "us-west-2"
    endpoint_url: str | None = None  # the local endpoint in tests; None in AWS
    webhook_secret_arn: str = ""
    cursor_table: str = ""
    poller_credentials_arn: str = ""
    poll_sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EdgeConfig:
        env = os.environ if env is None else env
        return cls(
            stream_name=env["ACCFB_STREAM_NAME"],
            region=env.get("ACCFB_AWS_REGION") or env.get("AWS_REGION") or "us-west-2",
            endpoint_url=env.get("ACCFB_AWS_ENDPOINT_URL") or None,
            webhook_secret_arn=env.get("ACCFB_WEBHOOK_SECRET_ARN", ""),
            cursor_table=env.get("ACCFB_CURSOR_TABLE", ""),
            poller_credentials_arn=env.get("ACCFB_POLLER_CREDENTIALS_ARN", ""),
            poll_sources=json.loads(env.get("ACCFB_POLL_SOURCES", "{}")),
        )

    def client(self, service: str) -> Any:
        return make_client(
            service, region=self.region, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG
        )

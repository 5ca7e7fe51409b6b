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
# short timeouts so a slow dependency fails the request instead of the Lambda's own timeout
# (the webhook asks for tighter ones still: ingestion/edge/webhook.py's RETRY_BUDGET).


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    stream_name: str
    region: str = "us-west-2"
    endpoint_url: str | None = None  # the local endpoint in tests; None in AWS
    webhook_secret_arn: str = ""
    cursor_table: str = ""
    poller_credentials_arn: str = ""
    poll_sources: Mapping[str, str] = field(default_factory=dict)
    poller_dead_letter_queue_url: str = ""
    environment: str = "local"  # the metrics' Environment dimension

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
            poller_dead_letter_queue_url=env.get("ACCFB_POLLER_DEAD_LETTER_QUEUE_URL", ""),
            environment=env.get("ACCFB_ENVIRONMENT", "local"),
        )

    def client(
        self,
        service: str,
        *,
        total_attempts: float = 6,
        connect_timeout: float = 2,
        read_timeout: float = 5,
    ) -> Any:
        """A client with the edge's retry settings, or tighter ones a handler's timeout needs."""
        config = Config(
            # total_max_attempts counts the first try; botocore's max_attempts would not.
            retries={"mode": "standard", "total_max_attempts": int(total_attempts)},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        return make_client(
            service, region=self.region, endpoint_url=self.endpoint_url, config=config
        )

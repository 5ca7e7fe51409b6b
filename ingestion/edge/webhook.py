"""Donation webhook receiver: API Gateway (proxy) -> this handler -> Kinesis.

Answers the donation platform in a way that makes its retries safe:
- 401 for a missing, wrong or stale signature (nothing is written);
- 413 for a body over Kinesis's 1 MiB record limit;
- 202 once Kinesis has accepted the record: the body is written exactly as received, so the
  event's `event_id` is its identity downstream and a re-sent webhook is a duplicate that dedup
  removes, never a second donation;
- 503 when the stream did not accept it after botocore's retries: the platform retries later.
A body that is authentic but breaks the contract (even one that is not JSON) is still written:
the warehouse quarantines it with a reason; the edge never drops a signed donation.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ingestion.contract.keys import partition_key
from ingestion.edge import signing
from ingestion.edge.config import EdgeConfig

MAX_RECORD_BYTES = 1024 * 1024
SECRET_CACHE_SECONDS = 300

log = logging.getLogger(__name__)


@dataclass
class WebhookReceiver:
    """The handler's logic with its dependencies passed in (the tests use the local endpoint)."""

    kinesis: Any
    stream_name: str
    secret: Callable[[], bytes]
    clock: Callable[[], float] = time.time

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        body = _body(event)
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        if not signing.verify(
            self.secret(),
            body,
            signature=headers.get(signing.SIGNATURE_HEADER),
            timestamp=headers.get(signing.TIMESTAMP_HEADER),
            now=self.clock(),
        ):
            return _response(401, {"error": "invalid or expired signature"})
        if len(body) + 256 > MAX_RECORD_BYTES:
            return _response(413, {"error": "event larger than the stream's record limit"})
        try:
            result = self.kinesis.put_record(
                StreamName=self.stream_name, Data=body, PartitionKey=partition_key(body)
            )
        except (ClientError, BotoCoreError) as exc:
            log.error("stream did not accept the webhook: %s", exc)
            return _response(503, {"error": "temporarily unavailable"}, retry_after=5)
        return _response(
            202,
            {
                "event_id": _event_id(body),
                "shard_id": result["ShardId"],
                "sequence_number": result["SequenceNumber"],
            },
        )


@dataclass
class _CachedSecret:
    """The signing key from Secrets Manager, re-read every few minutes so a rotation lands."""

    client: Any
    secret_arn: str
    fetched_at: float = 0.0
    value: bytes = b""

    def __call__(self) -> bytes:
        if time.monotonic() - self.fetched_at > SECRET_CACHE_SECONDS or not self.value:
            self.value = self.client.get_secret_value(SecretId=self.secret_arn)[
                "SecretString"
            ].encode()
            self.fetched_at = time.monotonic()
        return self.value


@cache
def _receiver() -> WebhookReceiver:
    # Built once per Lambda container: clients and the cached secret outlive one invocation,
    # which is what keeps the per-request cost at one PutRecord.
    config = EdgeConfig.from_env()
    return WebhookReceiver(
        kinesis=config.client("kinesis"),
        stream_name=config.stream_name,
        secret=_CachedSecret(config.client("secretsmanager"), config.webhook_secret_arn),
    )


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    return _receiver()(event)


def _body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(raw)
    return raw.encode() if isinstance(raw, str) else bytes(raw)


def _event_id(body: bytes) -> str | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = event.get("event_id") if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


def _response(
    status: int, body: Mapping[str, Any], retry_after: int | None = None
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}

"""Donation webhook receiver: API Gateway (proxy) -> this handler -> Kinesis.

Answers the donation platform in a way that makes its retries safe:
- 400 for a request that can never be written (a body that is not valid base64; a record the
  stream refuses as invalid; a JSON body that repeats a key, `duplicate_key`, which Redshift
  could not tell from a valid one once parsed), 401 for a missing, wrong or stale signature
  (nothing is written), 413 for a body over the contract's one record limit (`too_large`):
  retrying cannot help;
- 202 once Kinesis has accepted the record: the body is written exactly as received, so the
  event's `event_id` is its identity downstream and a re-sent webhook is a duplicate that dedup
  removes, never a second donation;
- 503 when the stream did not accept it after botocore's retries (throttling, a fault on AWS's
  side): the platform retries later. Those retries fit in the Lambda's timeout (RETRY_BUDGET).
A body that is authentic but breaks the contract otherwise (even one that is not JSON) is
written: the warehouse quarantines it with a reason; the edge never drops a signed donation
without telling the platform why.
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
from ingestion.contract.limits import MAX_RECORD_BYTES
from ingestion.contract.validation import repeated_key
from ingestion.edge import signing
from ingestion.edge.config import EdgeConfig

SECRET_CACHE_SECONDS = 300
LAMBDA_TIMEOUT_SECONDS = 10  # infra/stacks/edge.py's WebhookFn; a test holds them equal

# Worst case of one AWS call: every attempt waits out its connect and read timeouts, with
# botocore's standard backoff (at most 1 s, then 2 s) between attempts. The secret is read at most
# once an invocation (cached for minutes), then one PutRecord: both must end before the timeout,
# so the receiver can still answer 503 rather than be killed mid-request.
KINESIS_CLIENT = {"total_attempts": 2, "connect_timeout": 1.0, "read_timeout": 2.0}
SECRETS_CLIENT = {"total_attempts": 1, "connect_timeout": 1.0, "read_timeout": 1.0}


def worst_case_seconds(client: Mapping[str, float]) -> float:
    attempts = int(client["total_attempts"])
    backoff = sum(min(2.0**i, 20.0) for i in range(attempts - 1))
    return attempts * (client["connect_timeout"] + client["read_timeout"]) + backoff


RETRY_BUDGET = worst_case_seconds(KINESIS_CLIENT) + worst_case_seconds(SECRETS_CLIENT)

# Codes for which the same request will fail the same way however often it is sent.
_PERMANENT_KINESIS_ERRORS = frozenset({"ValidationException", "InvalidArgumentException"})

log = logging.getLogger(__name__)


@dataclass
class WebhookReceiver:
    """The handler's logic with its dependencies passed in (the tests use the local endpoint)."""

    kinesis: Any
    stream_name: str
    # The signing keys: the current one first, then (during a rotation) the previous one.
    secret: Callable[[], bytes | tuple[bytes, ...]]
    clock: Callable[[], float] = time.time

    def __call__(self, event: Mapping[str, Any]) -> dict[str, Any]:
        body = _body(event)
        if body is None:
            return _response(400, {"error": "the body is not valid base64"})
        headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
        signature, timestamp = (
            headers.get(signing.SIGNATURE_HEADER),
            headers.get(signing.TIMESTAMP_HEADER),
        )
        if not signing.verify(
            self.secret(),
            body,
            signature=signature if isinstance(signature, str) else None,
            timestamp=timestamp if isinstance(timestamp, str) else None,
            now=self.clock(),
        ):
            return _response(401, {"error": "invalid or expired signature"})
        if len(body) > MAX_RECORD_BYTES:
            return _response(
                413, {"error": f"too_large: a record may be at most {MAX_RECORD_BYTES} bytes"}
            )
        repeated = repeated_key(body)
        if repeated is not None:
            return _response(400, {"error": f"{repeated.reason}: {repeated.message}"})
        try:
            result = self.kinesis.put_record(
                StreamName=self.stream_name, Data=body, PartitionKey=partition_key(body)
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            log.error("stream did not accept the webhook: %s", code)
            if code in _PERMANENT_KINESIS_ERRORS:
                return _response(400, {"error": "the stream refuses this record"})
            return _response(503, {"error": "temporarily unavailable"}, retry_after=5)
        except BotoCoreError as exc:
            log.error("stream did not accept the webhook: %s", type(exc).__name__)
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
    """The signing keys from Secrets Manager, re-read every few minutes so a rotation lands:
    the current version and the previous one (AWSPREVIOUS), which the platform may still sign
    with until it picks the new key up."""

    client: Any
    secret_arn: str
    fetched_at: float = 0.0
    value: tuple[bytes, ...] = ()

    def __call__(self) -> tuple[bytes, ...]:
        if time.monotonic() - self.fetched_at > SECRET_CACHE_SECONDS or not self.value:
            current = self.client.get_secret_value(SecretId=self.secret_arn)["SecretString"]
            self.value = (current.encode(), *self._previous())
            self.fetched_at = time.monotonic()
        return self.value

    def _previous(self) -> tuple[bytes, ...]:
        try:
            previous = self.client.get_secret_value(
                SecretId=self.secret_arn, VersionStage="AWSPREVIOUS"
            )["SecretString"]
        except ClientError:
            return ()  # never rotated: there is no previous version
        return (previous.encode(),)


@cache
def _receiver() -> WebhookReceiver:
    # Built once per Lambda container: clients and the cached secret outlive one invocation,
    # which is what keeps the per-request cost at one PutRecord.
    config = EdgeConfig.from_env()
    return WebhookReceiver(
        kinesis=config.client("kinesis", **KINESIS_CLIENT),
        stream_name=config.stream_name,
        secret=_CachedSecret(
            config.client("secretsmanager", **SECRETS_CLIENT), config.webhook_secret_arn
        ),
    )


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    return _receiver()(event)


def _body(event: Mapping[str, Any]) -> bytes | None:
    """The request's bytes as sent, or None when API Gateway's base64 does not decode."""
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(raw, validate=True)
        except (ValueError, TypeError):
            return None
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return bytes(raw) if isinstance(raw, (bytes, bytearray)) else None


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

"""The donation webhook: only signed, fresh requests reach the stream; nothing signed is lost."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from ingestion.config.settings import Settings
from ingestion.edge import signing, webhook
from ingestion.edge.config import EdgeConfig
from tests.contract.test_contract import example
from tests.streams import read_stream

SECRET = b"whsec_test_only"
NOW = 1_790_000_000.0


def _donation() -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "donation.completed",
        "schema_version": 1,
        "source": "donation_platform",
        "occurred_at": "2026-11-24T10:00:00-08:00",
        "emitted_at": "2026-11-24T10:00:01-08:00",
        "payload": {"donation_id": "don-123", "amount_cents": 2500, "new_field": "kept"},
    }


def _request(body: bytes, *, timestamp: float = NOW, secret: bytes = SECRET) -> dict[str, Any]:
    return {
        "headers": {
            "X-Accfb-Signature": signing.sign(secret, int(timestamp), body),
            "X-Accfb-Timestamp": str(int(timestamp)),
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


@pytest.fixture
def receiver(edge_config: EdgeConfig) -> webhook.WebhookReceiver:
    secrets: Any = edge_config.client("secretsmanager")
    arn = secrets.create_secret(Name=f"sig-{uuid.uuid4().hex[:8]}", SecretString=SECRET.decode())[
        "ARN"
    ]
    cached = webhook._CachedSecret(secrets, arn)
    return webhook.WebhookReceiver(
        kinesis=edge_config.client("kinesis"),
        stream_name=edge_config.stream_name,
        secret=cached,
        clock=lambda: NOW,
    )


def test_signed_donation_lands_on_the_stream_byte_for_byte_keyed_by_donation(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    body = json.dumps(_donation()).encode()
    response = receiver(_request(body))
    assert response["statusCode"] == 202
    assert json.loads(response["body"])["event_id"] == json.loads(body)["event_id"]
    records = read_stream(provisioned)
    assert [data for _, _, data in records] == [body]


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda r: r["headers"].update({"X-Accfb-Signature": "v1=00"}), id="wrong"),
        pytest.param(lambda r: r["headers"].pop("X-Accfb-Signature"), id="missing"),
        pytest.param(lambda r: r.update({"body": base64.b64encode(b"{}").decode()}), id="body"),
    ],
)
def test_unsigned_or_tampered_request_is_refused_and_nothing_is_written(
    receiver: webhook.WebhookReceiver, provisioned: Settings, tamper: Any
) -> None:
    request = _request(json.dumps(_donation()).encode())
    tamper(request)
    assert receiver(request)["statusCode"] == 401
    assert read_stream(provisioned) == []


def test_replayed_old_signature_is_refused(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    stale = _request(json.dumps(_donation()).encode(), timestamp=NOW - 3600)
    assert receiver(stale)["statusCode"] == 401
    assert read_stream(provisioned) == []


def test_signed_body_that_is_not_json_is_kept_for_quarantine_not_dropped(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    body = b"<donation id=7>not json</donation>"
    assert receiver(_request(body))["statusCode"] == 202
    assert [data for _, _, data in read_stream(provisioned)] == [body]


def test_a_resent_webhook_keeps_its_event_id_so_dedup_counts_it_once(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    body = json.dumps(_donation()).encode()
    first = receiver(_request(body))
    second = receiver(_request(body, timestamp=NOW + 30))
    assert json.loads(first["body"])["event_id"] == json.loads(second["body"])["event_id"]
    event_ids = {json.loads(data)["event_id"] for _, _, data in read_stream(provisioned)}
    assert len(event_ids) == 1


def test_stream_unavailable_answers_503_so_the_platform_retries(
    edge_config: EdgeConfig,
) -> None:
    receiver = webhook.WebhookReceiver(
        kinesis=edge_config.client("kinesis"),
        stream_name="no-such-stream",
        secret=lambda: SECRET,
        clock=lambda: NOW,
    )
    response = receiver(_request(json.dumps(_donation()).encode()))
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"]


def test_signature_verifies_any_of_several_during_rotation() -> None:
    body = b"{}"
    header = f"{signing.sign(b'old', int(NOW), body)},{signing.sign(SECRET, int(NOW), body)}"
    assert signing.verify(SECRET, body, signature=header, timestamp=str(int(NOW)), now=NOW)
    assert not signing.verify(b"other", body, signature=header, timestamp=str(int(NOW)), now=NOW)


def test_handler_config_reads_the_same_variables_the_stack_sets() -> None:
    config = EdgeConfig.from_env(
        {
            "ACCFB_STREAM_NAME": "s",
            "ACCFB_WEBHOOK_SECRET_ARN": "arn:secret",
            "ACCFB_POLL_SOURCES": '{"warehouse": "https://wms"}',
        }
    )
    assert (config.stream_name, config.webhook_secret_arn) == ("s", "arn:secret")
    assert config.poll_sources == {"warehouse": "https://wms"}
    assert config.endpoint_url is None


# --- hostile requests (issue 12) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "signature", ["v1=é" + "0" * 63, "v1=\udcff", "\u0000", "v1=" + "\u0627" * 64], ids=repr
)
def test_a_non_ascii_signature_is_a_401_not_a_crash(
    receiver: webhook.WebhookReceiver, provisioned: Settings, signature: str
) -> None:
    request = _request(json.dumps(_donation()).encode())
    request["headers"]["X-Accfb-Signature"] = signature
    assert receiver(request)["statusCode"] == 401
    assert read_stream(provisioned) == []


@pytest.mark.parametrize(
    "timestamp", ["\u0661\u0667\u0669" + "\u0660" * 7, " 1790000000", "1e9", "9" * 400, ""]
)
def test_a_timestamp_that_is_not_ascii_digits_is_a_401(
    receiver: webhook.WebhookReceiver, timestamp: str
) -> None:
    request = _request(json.dumps(_donation()).encode())
    request["headers"]["X-Accfb-Timestamp"] = timestamp
    assert receiver(request)["statusCode"] == 401


def test_a_body_that_is_not_base64_is_a_400(receiver: webhook.WebhookReceiver) -> None:
    request = _request(b"{}")
    request["body"] = "%%% not base64 %%%"
    assert receiver(request)["statusCode"] == 400


def test_a_body_over_the_contracts_record_limit_is_413_too_large(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    from ingestion.contract.limits import MAX_RECORD_BYTES

    response = receiver(_request(b"x" * (MAX_RECORD_BYTES + 1)))
    assert response["statusCode"] == 413
    assert "too_large" in json.loads(response["body"])["error"]
    assert read_stream(provisioned) == []


def test_a_body_that_repeats_a_key_is_400_duplicate_key_and_not_written(
    receiver: webhook.WebhookReceiver, provisioned: Settings
) -> None:
    # Redshift keeps one of the values unseen, so the edge refuses what the warehouse cannot.
    gift = json.dumps(example("donation.completed"))
    repeated = gift.replace('"amount_cents": 5000', '"amount_cents": 5000, "amount_cents": 1')
    assert repeated != gift
    response = receiver(_request(repeated.encode()))
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"].startswith("duplicate_key:payload")
    assert "5000" not in response["body"]  # names the object, never a value
    assert read_stream(provisioned) == []
    # A repeat inside an unknown extra field is kept as sent, as the contract says.
    extra = gift[:-1] + ', "extra": {"k": 1, "k": 2}}'
    assert receiver(_request(extra.encode()))["statusCode"] == 202


def test_the_previous_secret_still_verifies_during_a_rotation(
    edge_config: EdgeConfig, provisioned: Settings
) -> None:
    secrets: Any = edge_config.client("secretsmanager")
    arn = secrets.create_secret(Name=f"rot-{uuid.uuid4().hex[:8]}", SecretString="old-key")["ARN"]
    secrets.put_secret_value(SecretId=arn, SecretString="new-key")  # old-key is now AWSPREVIOUS
    receiver = webhook.WebhookReceiver(
        kinesis=edge_config.client("kinesis"),
        stream_name=edge_config.stream_name,
        secret=webhook._CachedSecret(secrets, arn),
        clock=lambda: NOW,
    )
    body = json.dumps(_donation()).encode()
    assert receiver(_request(body, secret=b"new-key"))["statusCode"] == 202
    assert receiver(_request(body, secret=b"old-key"))["statusCode"] == 202
    assert receiver(_request(body, secret=b"older-key"))["statusCode"] == 401


class _RefusingKinesis:
    def __init__(self, code: str) -> None:
        self.code = code

    def put_record(self, **_: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "PutRecord")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ValidationException", 400),
        ("InvalidArgumentException", 400),
        ("ProvisionedThroughputExceededException", 503),
        ("ResourceNotFoundException", 503),  # our stream, not the request: retry after the fix
    ],
)
def test_permanent_refusals_are_4xx_transient_ones_503(code: str, status: int) -> None:
    receiver = webhook.WebhookReceiver(
        kinesis=_RefusingKinesis(code), stream_name="s", secret=lambda: SECRET, clock=lambda: NOW
    )
    assert receiver(_request(json.dumps(_donation()).encode()))["statusCode"] == status


def test_the_retries_fit_in_the_lambdas_timeout() -> None:
    from ingestion.config.settings import REPO_ROOT

    stack = (REPO_ROOT / "infra" / "stacks" / "edge.py").read_text()
    webhook_fn = stack[
        stack.index('"WebhookFn"') : stack.index("stream.grant_write(self.webhook_fn)")
    ]
    assert f"timeout=Duration.seconds({webhook.LAMBDA_TIMEOUT_SECONDS})" in webhook_fn
    assert webhook.RETRY_BUDGET < webhook.LAMBDA_TIMEOUT_SECONDS
    client = EdgeConfig(stream_name="s").client("kinesis", **webhook.KINESIS_CLIENT)
    assert (
        client.meta.config.retries["total_max_attempts"] == webhook.KINESIS_CLIENT["total_attempts"]
    )
    assert client.meta.config.read_timeout == webhook.KINESIS_CLIENT["read_timeout"]

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

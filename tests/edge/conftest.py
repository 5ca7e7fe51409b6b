"""Edge handlers against the session's local AWS endpoint (tests/conftest.py's moto server)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ingestion.config.settings import Settings
from ingestion.edge.config import EdgeConfig


@pytest.fixture
def edge_config(provisioned: Settings) -> EdgeConfig:
    """The handlers' config for this test's stream, plus a cursor table of its own."""
    config = EdgeConfig(
        stream_name=provisioned.stream_name,
        region=provisioned.aws_region,
        endpoint_url=provisioned.aws_endpoint_url,
        cursor_table=f"cursors-{uuid.uuid4().hex[:8]}",
    )
    dynamodb: Any = config.client("dynamodb")
    dynamodb.create_table(
        TableName=config.cursor_table,
        KeySchema=[{"AttributeName": "source", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "source", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return config

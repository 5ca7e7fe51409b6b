from __future__ import annotations

from pathlib import Path

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.local import localaws
from tests.conftest import free_port


def test_up_creates_stream_and_bucket_once(settings: Settings) -> None:
    first = localaws.ensure_up(settings)
    second = localaws.ensure_up(settings)

    assert first == [
        f"stream {settings.stream_name} (2 shards)",
        f"bucket {settings.raw_bucket}",
    ]
    assert second == []
    shards = aws.client("kinesis", settings).list_shards(StreamName=settings.stream_name)
    assert len(shards["Shards"]) == 2
    lock = aws.client("s3", settings).get_object_lock_configuration(Bucket=settings.raw_bucket)
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"


def test_up_starts_an_absent_endpoint_and_down_stops_it_idempotently(tmp_path: Path) -> None:
    settings = Settings(
        aws_endpoint_url=f"http://127.0.0.1:{free_port()}",
        state_dir=tmp_path,
        stream_shards=1,
    )
    endpoint = localaws.Endpoint.from_settings(settings)
    assert not localaws.is_serving(endpoint)

    localaws.ensure_up(settings)
    assert localaws.is_serving(endpoint)
    assert localaws.stop_endpoint(settings) is True
    assert not localaws.is_serving(endpoint)
    assert localaws.stop_endpoint(settings) is False

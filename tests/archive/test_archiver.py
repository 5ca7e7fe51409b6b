"""The archiver writes every stream record once, in the agreed layout, and survives a crash."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ingestion.archive.archiver import StreamArchiver
from ingestion.archive.format import record_source
from ingestion.archive.keys import parse_key
from ingestion.config import aws
from ingestion.config.settings import Settings
from tests.kinesis.faults import FailingReads
from tests.streams import read_stream
from tests.support import archive, archived_lines, corpus, publish


def test_every_record_is_archived_once_with_its_stream_metadata(provisioned: Settings) -> None:
    records = corpus(seed=11, seconds=1)
    publish(provisioned, records)

    assert archive(provisioned) == len(records)
    assert archive(provisioned) == 0  # drained: nothing more, nothing twice

    lines = archived_lines(provisioned)
    on_stream = {(shard, seq): data for shard, seq, data in read_stream(provisioned)}
    assert Counter((line["shard_id"], line["sequence_number"]) for line in lines) == Counter(
        on_stream.keys()
    )
    for line in lines:
        key = parse_key(line["key"])
        assert key is not None
        assert key.holds(line["shard_id"], line["sequence_number"])
        assert key.source == record_source(on_stream[line["shard_id"], line["sequence_number"]])
        # Text as the lander keeps it: bytes that are not UTF-8 become U+FFFD on both paths.
        data = on_stream[line["shard_id"], line["sequence_number"]]
        assert line["kinesis_data"] == data.decode("utf-8", errors="replace")
        assert line["approximate_arrival_timestamp"].startswith(key.hour.strftime("%Y-%m-%dT%H"))
        assert line["partition_key"]
    assert {parse_key(line["key"]).source for line in lines} >= {"donation_platform", "unknown"}  # type: ignore[union-attr]


class _CrashAfter:
    """An S3 client whose puts fail after ``puts`` successful writes, as if the process died."""

    def __init__(self, s3: Any, puts: int) -> None:
        self._s3 = s3
        self._left = puts

    def put_object(self, **kwargs: Any) -> Any:
        if self._left == 0:
            raise ConnectionError("archiver killed mid-batch")
        self._left -= 1
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def test_a_crash_mid_batch_neither_loses_nor_duplicates_on_restart(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=12, seconds=1))
    kinesis = aws.client("kinesis", provisioned)
    s3 = aws.client("s3", provisioned)
    crashing = StreamArchiver(provisioned, kinesis, _CrashAfter(s3, puts=3))
    with pytest.raises(ConnectionError):
        crashing.archive_once()
    partial = archived_lines(provisioned)
    assert partial  # the crash left a batch half written

    publish(provisioned, corpus(seed=13, seconds=1))  # the stream moves on meanwhile
    restarted = StreamArchiver(provisioned, kinesis, s3)
    restarted.archive_once()

    lines = archived_lines(provisioned)
    positions = Counter((line["shard_id"], line["sequence_number"]) for line in lines)
    assert positions == Counter((shard, seq) for shard, seq, _ in read_stream(provisioned))
    assert restarted.stats.objects_refused >= 3  # the written objects were refused, not rewritten


def test_an_archive_object_is_never_overwritten(provisioned: Settings) -> None:
    publish(provisioned, corpus(seed=14, seconds=0.2))
    archive(provisioned)
    s3 = aws.client("s3", provisioned)
    key = archived_lines(provisioned)[0]["key"]
    with pytest.raises(ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket=provisioned.raw_bucket, Key=key, Body=b"tampered", IfNoneMatch="*")


def _archived_exactly_once(settings: Settings) -> None:
    lines = archived_lines(settings)
    positions = Counter((line["shard_id"], line["sequence_number"]) for line in lines)
    on_stream = {(shard, seq) for shard, seq, _ in read_stream(settings)}
    assert set(positions) == on_stream
    assert max(positions.values()) == 1


@pytest.mark.parametrize("failure", ["expired", "error"])
def test_a_read_failing_mid_batch_neither_skips_nor_repeats_a_record(
    provisioned: Settings, failure: str
) -> None:
    publish(provisioned, corpus(seed=12, seconds=1))
    kinesis = FailingReads(aws.client("kinesis", provisioned), {3: failure})
    archiver = StreamArchiver(
        provisioned, kinesis, aws.client("s3", provisioned), records_per_call=100
    )
    if failure == "error":
        with pytest.raises(ClientError):
            archiver.archive_once()
    archiver.archive_once()  # a retry on the same archiver, as its run loop's caller does

    _archived_exactly_once(provisioned)

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from botocore.config import Config
from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.kinesis.batcher import MAX_BYTES_PER_CALL
from ingestion.produce.dead_letters import DeadLetters
from ingestion.produce.dead_letters import read as read_dead_letters
from ingestion.produce.producer import REPORTED_FAILURES, KinesisProducer
from tests.produce.faults import KinesisFaults
from tests.streams import read_stream


def _records(n: int, size: int = 200) -> list[tuple[bytes, str]]:
    return [(json.dumps({"n": i, "pad": "x" * size}).encode(), f"key-{i % 17}") for i in range(n)]


def test_batches_stay_within_500_records_and_5_mib_per_call(provisioned: Settings) -> None:
    client = aws.client("kinesis", provisioned)
    faults = KinesisFaults(client)
    small = _records(1_234)
    # Records near the contract's 65,535-byte limit: a hundred of them pass 5 MiB.
    large = _records(100, size=60_000)

    with KinesisProducer(client, provisioned.stream_name) as producer:
        producer.put_many(small + large)
        report = producer.flush()

    assert report.accepted == 1_334 and report.ok
    assert max(faults.records_per_call) == 500
    assert max(faults.bytes_per_call) <= MAX_BYTES_PER_CALL
    assert sum(faults.records_per_call) == 1_334


def test_partial_failures_are_resent_alone_until_every_record_is_on_the_stream_once(
    provisioned: Settings,
) -> None:
    client = aws.client("kinesis", provisioned)
    # The first three calls each fail every third record, as a hot shard would.
    KinesisFaults(
        client,
        decide=lambda call, i, _: (
            "ProvisionedThroughputExceededException" if call < 3 and i % 3 == 0 else None
        ),
    )
    sent = _records(1_000)

    with KinesisProducer(client, provisioned.stream_name, retry_max_wait_seconds=0.05) as p:
        p.put_many(sent)
        report = p.flush()

    on_stream = Counter(data for _, _, data in read_stream(provisioned))
    assert report.ok and report.accepted == 1_000
    assert report.retried > 0
    assert on_stream == Counter(data for data, _ in sent)


def test_throttled_calls_are_retried_by_botocore(provisioned: Settings) -> None:
    client = aws.client("kinesis", provisioned)
    faults = KinesisFaults(client, throttle_calls=2)

    with KinesisProducer(client, provisioned.stream_name) as producer:
        producer.put_many(_records(10))
        report = producer.flush()

    assert report.ok and report.accepted == 10
    assert faults.calls == 3
    assert len(read_stream(provisioned)) == 10


def test_a_record_never_accepted_is_reported_failed_and_never_counted(
    provisioned: Settings,
) -> None:
    client = aws.client("kinesis", provisioned)
    KinesisFaults(client, decide=lambda _c, i, _r: "KMSAccessDeniedException" if i == 4 else None)
    sent = _records(10)

    with KinesisProducer(client, provisioned.stream_name) as producer:
        producer.put_many(sent)
        report = producer.flush()

    assert report.accepted == 9
    assert [f.error_code for f in report.failed] == ["KMSAccessDeniedException"]
    assert report.failed[0].record.data == sent[4][0]
    assert sent[4][0] not in {data for _, _, data in read_stream(provisioned)}


def test_throttling_past_the_deadline_fails_the_records_instead_of_reporting_success(
    provisioned: Settings,
) -> None:
    # Fewer botocore attempts than in production keep the test short; the logic is the same.
    client = aws.client("kinesis", provisioned, config=Config(retries={"max_attempts": 2}))
    KinesisFaults(client, throttle_forever=True)

    producer = KinesisProducer(
        client,
        provisioned.stream_name,
        retry_deadline_seconds=0.5,
        retry_max_wait_seconds=0.1,
    )
    producer.put_many(_records(5))
    report = producer.close()

    assert report.accepted == 0
    assert len(report.failed) == 5
    assert {f.error_code for f in report.failed} == {"ProvisionedThroughputExceededException"}
    assert read_stream(provisioned) == []


def test_oversized_records_are_refused_before_sending(provisioned: Settings) -> None:
    client = aws.client("kinesis", provisioned)
    with KinesisProducer(client, provisioned.stream_name) as producer:
        producer.put(b"x" * (1024 * 1024 + 1), "k")
        producer.put(b"{}", "k")
        report = producer.flush()

    assert report.accepted == 1
    assert [f.error_code for f in report.failed] == ["RecordRejected"]


def test_no_more_than_max_in_flight_calls_at_once(provisioned: Settings) -> None:
    client = aws.client("kinesis", provisioned)
    faults = KinesisFaults(client, delay_seconds=0.05)

    with KinesisProducer(client, provisioned.stream_name, max_in_flight=2) as producer:
        producer.put_many(_records(3_000, size=50))
        report = producer.flush()

    assert report.accepted == 3_000
    assert faults.max_in_flight == 2


def test_every_refused_record_goes_to_the_dead_letters_and_memory_holds_only_a_sample(
    provisioned: Settings, tmp_path: Path
) -> None:
    client = aws.client("kinesis", provisioned, config=Config(retries={"max_attempts": 2}))
    KinesisFaults(client, decide=lambda call, i, record: "KMSAccessDeniedException")
    letters = DeadLetters(tmp_path / "dead.jsonl")
    records = _records(REPORTED_FAILURES + 50)

    with KinesisProducer(client, provisioned.stream_name, dead_letters=letters) as producer:
        producer.put_many(records)
        report = producer.flush()

    assert report.failed_count == len(records) and not report.ok
    assert len(report.failed) == REPORTED_FAILURES
    filed = list(read_dead_letters(letters.path))
    assert sorted((f.record.data, f.record.partition_key) for f in filed) == sorted(records)
    assert {f.error_code for f in filed} == {"KMSAccessDeniedException"}


def test_accfb_publish_names_the_dead_letter_file_of_what_kinesis_refused(
    provisioned: Settings, tmp_path: Path
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b'{"ok": 1}\n' + b"x" * (1024 * 1024 + 1) + b"\n")
    env = {
        "ACCFB_AWS_ENDPOINT_URL": provisioned.aws_endpoint_url or "",
        "ACCFB_STREAM_NAME": provisioned.stream_name,
        "ACCFB_RAW_BUCKET": provisioned.raw_bucket,
        "ACCFB_STATE_DIR": str(provisioned.state_dir),
    }
    result = CliRunner().invoke(app, ["publish", str(source)], env=env)

    assert result.exit_code == 1
    (filed_path,) = (provisioned.state_dir / "dead-letters").glob("publish-*.jsonl")
    assert str(filed_path.name) in result.output.replace("\n", "")
    (filed,) = read_dead_letters(filed_path)
    assert filed.error_code == "RecordRejected" and len(filed.record.data) == 1024 * 1024 + 1

"""The one PutRecords batcher: Kinesis's limits per call and per record, partial-failure retry."""

from __future__ import annotations

from typing import Any

from ingestion.kinesis.batcher import (
    MAX_BYTES_PER_CALL,
    MAX_RECORD_BYTES,
    MAX_RECORDS_PER_CALL,
    Batcher,
    Record,
    put_batch,
)


def _batches(records: list[Record]) -> list[list[Record]]:
    batcher = Batcher()
    batches = [full for r in records if (full := batcher.add(r))]
    return [*batches, batcher.take()] if len(batcher) else batches


def test_batches_hold_at_most_500_records() -> None:
    batches = _batches([Record(b"x", "k") for _ in range(1_201)])
    assert [len(b) for b in batches] == [500, 500, 201]


def test_batches_hold_at_most_5_mib_counting_partition_keys() -> None:
    record = Record(b"x" * (MAX_RECORD_BYTES - 10), "0123456789")  # exactly 1 MiB with its key
    batches = _batches([record] * 11)
    assert [len(b) for b in batches] == [5, 5, 1]
    assert all(sum(r.size for r in b) <= MAX_BYTES_PER_CALL for b in batches)
    assert all(len(b) <= MAX_RECORDS_PER_CALL for b in batches)


def test_a_record_over_the_contract_limit_or_without_a_key_is_unsendable() -> None:
    from ingestion.contract.limits import MAX_RECORD_BYTES as CONTRACT_LIMIT

    assert Record(b"x" * CONTRACT_LIMIT, "k").unsendable() is None
    too_large = Record(b"x" * (CONTRACT_LIMIT + 1), "k").unsendable()
    assert too_large == f"too_large: {CONTRACT_LIMIT + 1} bytes"
    # Kinesis's own limit counts the key too.
    assert Record(b"x", "k" * MAX_RECORD_BYTES).unsendable() == f"{MAX_RECORD_BYTES + 1} bytes"
    assert Record(b"x", "").unsendable() == "empty partition key"


def test_a_record_that_repeats_a_key_the_contract_reads_is_unsendable() -> None:
    # Redshift cannot see the repeat after its parse: every producer refuses it instead.
    assert Record(b'{"event_type": "a", "event_type": "b"}', "k").unsendable() == (
        "duplicate_key: the event repeats a key"
    )
    nested = b'{"payload": {"donor": {"email": "a", "email": "b"}}}'
    assert (
        Record(nested, "k").unsendable()
        == "duplicate_key:payload.donor: payload.donor repeats a key"
    )
    # Left to the warehouse's quarantine: not JSON, and repeats inside unknown extra fields.
    assert Record(b"<html>", "k").unsendable() is None
    assert Record(b'{"extra": {"k": 1, "k": 2}}', "k").unsendable() is None


class PartialKinesis:
    """Refuses the records named in ``refusals`` (by data), each the given number of times."""

    def __init__(self, refusals: dict[bytes, tuple[str, int]]) -> None:
        self.refusals = dict(refusals)
        self.calls: list[list[bytes]] = []

    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        datas = [r["Data"] for r in kwargs["Records"]]
        self.calls.append(datas)
        results = []
        for data in datas:
            code, times = self.refusals.get(data, ("", 0))
            if times:
                self.refusals[data] = (code, times - 1)
                results.append({"ErrorCode": code, "ErrorMessage": "refused"})
            else:
                results.append({"SequenceNumber": "1", "ShardId": "shardId-0"})
        return {"Records": results}


def test_refused_records_are_resent_alone_until_accepted() -> None:
    kinesis = PartialKinesis({b"b": ("ProvisionedThroughputExceededException", 2)})
    batch = [Record(d, "k") for d in (b"a", b"b", b"c")]
    outcome = put_batch(kinesis, "s", batch, sleep=lambda _: None)
    assert (outcome.accepted, outcome.retried, outcome.failed) == (3, 2, [])
    assert kinesis.calls == [[b"a", b"b", b"c"], [b"b"], [b"b"]]


def test_a_permanent_refusal_fails_that_record_only_and_is_not_retried() -> None:
    kinesis = PartialKinesis({b"b": ("AccessDeniedException", 1)})
    outcome = put_batch(kinesis, "s", [Record(b"a", "k"), Record(b"b", "k")], sleep=lambda _: None)
    assert outcome.accepted == 1
    assert [(f.record.data, f.error_code) for f in outcome.failed] == [
        (b"b", "AccessDeniedException")
    ]
    assert len(kinesis.calls) == 1


def test_retries_stop_at_the_attempt_budget_and_report_the_records_failed() -> None:
    kinesis = PartialKinesis({b"a": ("ProvisionedThroughputExceededException", 99)})
    waits: list[float] = []
    outcome = put_batch(kinesis, "s", [Record(b"a", "k")], max_attempts=4, sleep=waits.append)
    assert outcome.accepted == 0
    assert [f.error_code for f in outcome.failed] == ["ProvisionedThroughputExceededException"]
    assert len(kinesis.calls) == 4
    # Full jitter: each wait is below its exponentially growing cap.
    assert all(0 <= w <= 0.1 * 2 ** (i + 1) for i, w in enumerate(waits))


def test_retries_stop_at_the_deadline() -> None:
    kinesis = PartialKinesis({b"a": ("ProvisionedThroughputExceededException", 99)})
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += 1.0

    outcome = put_batch(
        kinesis, "s", [Record(b"a", "k")], deadline_seconds=3, sleep=sleep, clock=lambda: now[0]
    )
    assert len(outcome.failed) == 1
    assert len(kinesis.calls) == 4  # at t = 0, 1, 2, 3: the deadline is reached after the fourth


class BrokenKinesis:
    def put_records(self, **kwargs: Any) -> dict[str, Any]:
        raise RuntimeError("connection reset mid-response")


def test_an_unknown_outcome_is_reported_failed_never_accepted() -> None:
    outcome = put_batch(BrokenKinesis(), "s", [Record(b"a", "k")], sleep=lambda _: None)
    assert outcome.accepted == 0
    assert [f.error_code for f in outcome.failed] == ["RuntimeError"]

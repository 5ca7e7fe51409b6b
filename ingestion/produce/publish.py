"""Putting records on the stream: a file as it is, or simulated traffic at its scheduled pace."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TypeVar

from ingestion.config import aws
from ingestion.config.settings import Settings
from ingestion.contract import partition_key
from ingestion.produce.dead_letters import DeadLetters
from ingestion.produce.producer import KinesisProducer, ProduceReport


class Scheduled(Protocol):
    @property
    def data(self) -> bytes: ...
    @property
    def partition_key(self) -> str: ...
    @property
    def emitted_at(self) -> datetime: ...


S = TypeVar("S", bound=Scheduled)


def file_records(path: Path) -> Iterator[tuple[bytes, str]]:
    """Each line of a JSONL file as one record, bad lines included, so quarantine can see them."""
    with path.open("rb") as lines:
        for line in lines:
            data = line.rstrip(b"\r\n")
            if data:
                yield data, partition_key(data)


def publish_records(
    settings: Settings,
    records: Iterable[tuple[bytes, str]],
    *,
    dead_letters: DeadLetters | None = None,
) -> ProduceReport:
    kinesis = aws.client("kinesis", settings)
    with KinesisProducer(
        kinesis,
        settings.stream_name,
        max_in_flight=settings.producer_in_flight,
        dead_letters=dead_letters,
    ) as producer:
        producer.put_many(records)
        return producer.flush()


def publish_paced(
    producer: KinesisProducer,
    records: Iterable[S],
    *,
    on_put: Callable[[S], None] | None = None,
) -> int:
    """Send each record at its emitted_at in real time (never early); return how many were put.

    A producer that falls behind sends at once, so the lag shows up in freshness, where a real
    source's backlog would.
    """
    sent = 0
    for record in records:
        delay = (record.emitted_at - datetime.now(UTC)).total_seconds()
        if delay > 0.001:
            time.sleep(delay)
        producer.put(record.data, record.partition_key)
        sent += 1
        if on_put is not None:
            on_put(record)
    return sent

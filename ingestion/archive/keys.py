"""The archive's layout, written once: where a record's object lives and how to list them.

    raw/source=<source>/date=YYYY-MM-DD/hour=HH/<name>.json.gz

The date and hour are the record's arrival on the stream. Objects the local archiver writes are
named ``<shard>-<first seq>-<last seq>.json.gz`` (the batch they came from); Firehose names its
own (stream, time, uuid), so in AWS the name says nothing about the positions inside.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingestion.config.constants import RETENTION

RAW_PREFIX = "raw/"
CONTRACT_SOURCES = ("donation_platform", "crm", "warehouse", "partner_api")

_PARTITION = re.compile(
    r"^raw/source=(?P<source>[^/]+)/date=(?P<date>\d{4}-\d{2}-\d{2})/hour=(?P<hour>\d{2})/"
    r"(?P<name>[^/]+\.json\.gz)$"
)
_NAME = re.compile(r"^(?P<shard>.+)-(?P<first>\d+)-(?P<last>\d+)\.json\.gz$")


@dataclass(frozen=True)
class ArchiveKey:
    """What an archive object's key says about its records."""

    key: str
    source: str
    hour: datetime
    # The batch's shard and sequence range when this archiver wrote it; None for Firehose's.
    shard_id: str | None
    first_sequence: str | None
    last_sequence: str | None

    def holds(self, shard_id: str, sequence_number: str) -> bool:
        if self.first_sequence is None or self.last_sequence is None:
            return False
        return shard_id == self.shard_id and (
            int(self.first_sequence) <= int(sequence_number) <= int(self.last_sequence)
        )


def parse_key(key: str) -> ArchiveKey | None:
    match = _PARTITION.match(key)
    if match is None:
        return None
    hour = datetime.strptime(f"{match['date']} {match['hour']}", "%Y-%m-%d %H").replace(tzinfo=UTC)
    name = _NAME.match(match["name"])
    if name is None:
        return ArchiveKey(key, match["source"], hour, None, None, None)
    return ArchiveKey(key, match["source"], hour, name["shard"], name["first"], name["last"])


def partition_prefix(source: str, hour: datetime) -> str:
    hour = hour.astimezone(UTC)
    return f"{RAW_PREFIX}source={source}/date={hour:%Y-%m-%d}/hour={hour:%H}/"


def object_key(source: str, hour: datetime, shard_id: str, first: str, last: str) -> str:
    return f"{partition_prefix(source, hour)}{shard_id}-{first}-{last}.json.gz"


def list_archive(s3: Any, bucket: str, prefixes: Iterable[str]) -> Iterator[ArchiveKey]:
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                parsed = parse_key(item["Key"])
                if parsed is not None:
                    yield parsed


def source_prefixes(s3: Any, bucket: str) -> list[str]:
    """Every ``raw/source=…/`` partition in the bucket (a handful: one per source)."""
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=RAW_PREFIX, Delimiter="/"
    )
    return [p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])]


def recent_prefixes(s3: Any, bucket: str, now: datetime) -> list[str]:
    """The date partitions that can hold records still on the stream (its retention, a day more)."""
    days = RETENTION.stream_hours // 24 + 1
    dates = [(now - timedelta(days=d)).strftime("%Y-%m-%d") for d in range(days + 1)]
    return [f"{p}date={d}/" for p in source_prefixes(s3, bucket) for d in dates]


def objects_in_hours(
    s3: Any, bucket: str, hours: Iterable[datetime], sources: Sequence[str] = ()
) -> list[ArchiveKey]:
    """The objects of the given arrival hours (of ``sources``, or every source), in key order."""
    names = list(sources) or [
        p.removeprefix(f"{RAW_PREFIX}source=").rstrip("/") for p in source_prefixes(s3, bucket)
    ]
    hours = list(hours)
    prefixes = [partition_prefix(s, hour) for s in names for hour in hours]
    return sorted(list_archive(s3, bucket, prefixes), key=lambda k: k.key)

"""Capacity math for the stream, the archive and the warehouse (docs/capacity-and-cost.md).

Pure functions of the brief's numbers, shared by the cost model and by a test that keeps the
production stack's shard count equal to what this math asks for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIB = 1024 * 1024
# Kinesis per-shard limits (provisioned mode).
SHARD_WRITE_BYTES_PER_SECOND = 1 * MIB
SHARD_WRITE_RECORDS_PER_SECOND = 1_000
SHARD_READ_BYTES_PER_SECOND = 2 * MIB  # shared by all consumers without enhanced fan-out
PARTITION_KEY_BYTES = 36
# Shards are sized for the contract's largest event, not the average.
MAX_EVENT_BYTES = 4096  # a UUID-sized business key counts against the write limit too

# Assumption to re-measure with a load test on the real workgroup: 8 RPU keep up with streaming
# ingestion plus the minute merges at 2,000 events/s; Redshift Serverless scales in steps of 8.
EVENTS_PER_SECOND_PER_8_RPU = 2_000
RPU_STEP = 8


@dataclass(frozen=True)
class ShardSizing:
    write_bytes_shards: float
    write_records_shards: float
    read_bytes_shards: float
    headroom: float
    shards: int

    @property
    def binding_limit(self) -> str:
        limits = {
            "write bytes": self.write_bytes_shards,
            "write records": self.write_records_shards,
            "read bytes": self.read_bytes_shards,
        }
        return max(limits, key=lambda name: limits[name])


def shards_needed(
    *, events_per_second: float, event_bytes: int, consumers: int = 2, headroom: float = 1.25
) -> ShardSizing:
    """Shards for a provisioned stream at a given peak.

    ``consumers`` share each shard's 2 MiB/s of reads (here Redshift streaming ingestion and the
    Firehose archive). ``headroom`` covers uneven partition keys: a hot site or campaign puts
    more than its share on one shard.
    """
    record = event_bytes + PARTITION_KEY_BYTES
    write_bytes = events_per_second * record / SHARD_WRITE_BYTES_PER_SECOND
    write_records = events_per_second / SHARD_WRITE_RECORDS_PER_SECOND
    read_bytes = consumers * events_per_second * event_bytes / SHARD_READ_BYTES_PER_SECOND
    needed = max(write_bytes, write_records, read_bytes) * headroom
    return ShardSizing(write_bytes, write_records, read_bytes, headroom, math.ceil(needed))


# Redshift Serverless base capacity: 4 RPU (warehouses under 32 TB), or 8 to 512 in steps of 8
# (docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html, read 2026-12-02).
SMALLEST_BASE_RPU = 4


def rpu_for(
    events_per_second: float, *, base_rpu: int = SMALLEST_BASE_RPU, max_rpu: int = 64
) -> int:
    """RPU the workgroup needs at a sustained event rate (see the assumption above, scaled
    linearly: 4 RPU keep up with 1,000 events/s), never under the base nor over the ceiling."""
    needed = events_per_second / EVENTS_PER_SECOND_PER_8_RPU * RPU_STEP
    if needed <= SMALLEST_BASE_RPU:
        return min(max(base_rpu, SMALLEST_BASE_RPU), max_rpu)
    return min(max(base_rpu, math.ceil(needed / RPU_STEP) * RPU_STEP), max_rpu)


def billed_fraction(refresh_interval_seconds: float, refresh_busy_seconds: float) -> float:
    """Share of wall time Redshift Serverless bills: per second, with a 60-second minimum each
    time it wakes. A refresh every minute (the freshness goal) keeps it billed all the time."""
    billed = max(refresh_busy_seconds, 60.0)
    return min(1.0, billed / refresh_interval_seconds)


def gb_per_day(events_per_second: float, event_kb: float) -> float:
    return events_per_second * event_kb * 1_000 * 86_400 / 1e9

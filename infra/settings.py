"""Typed deployment settings: the retention rules and the per-environment sizes the stacks read.

Every number an operator might change lives here rather than inside a stack, so a diff of this
file is the review of a capacity or retention change. The sizing numbers come from the capacity
math in ``ingestion/operations/cost/capacity.py`` (explained in docs/capacity-and-cost.md); a
test keeps the production shard count equal to what that math asks for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

# The numbers the runtime shares with the stacks live in the runtime package; re-exported here
# so every stack reads its settings from one module.
from ingestion.config.constants import (
    FRESHNESS_TARGET_SECONDS as FRESHNESS_TARGET_SECONDS,
)
from ingestion.config.constants import METRIC_NAMESPACE as METRIC_NAMESPACE
from ingestion.config.constants import MODE_EVENTS_PER_SECOND
from ingestion.config.constants import RETENTION as RETENTION
from ingestion.operations.cost.capacity import MAX_EVENT_BYTES, shards_needed


class StreamMode(StrEnum):
    PROVISIONED = "PROVISIONED"
    ON_DEMAND = "ON_DEMAND"


@dataclass(frozen=True, kw_only=True)
class PollSource:
    """A warehouse or partner API that the scheduled poller reads (its URL is not a secret)."""

    name: str  # the contract's `source` value: "warehouse" or "partner_api"
    url: str
    every_minutes: int = 1


def mode_shards() -> dict[str, int]:
    """Provisioned shards per operating mode, from the capacity math at each mode's rate. The
    stack deploys the normal count; switching mode reshards (docs/capacity-and-cost.md)."""
    return {
        mode: shards_needed(events_per_second=rate, event_bytes=MAX_EVENT_BYTES).shards
        for mode, rate in MODE_EVENTS_PER_SECOND.items()
    }


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything that differs between dev and prod; stacks take it as a keyword-only prop."""

    name: str
    region: str
    availability_zones: tuple[str, ...]
    # One NAT gateway per AZ in prod so losing an AZ does not cut the others off (no SPOF).
    nat_gateways: int
    stream_mode: StreamMode
    stream_shards: int  # used when stream_mode is PROVISIONED: the normal mode's count
    # The counts an operating-mode switch reshards to (UpdateShardCount, docs/capacity-and-cost.md)
    stream_shards_by_mode: dict[str, int] = field(default_factory=dict)
    firehose_buffer_seconds: int
    firehose_buffer_mib: int
    redshift_base_rpu: int
    redshift_max_rpu: int
    redshift_daily_rpu_hours_limit: int  # emits a metric (alarmed), never stops queries
    redshift_monthly_rpu_hours_limit: int  # logged; the budget conversation, not an outage
    mwaa_environment_class: str
    mwaa_min_workers: int
    mwaa_max_workers: int
    mwaa_schedulers: int
    mwaa_airflow_version: str
    webhook_rate_limit_per_second: int
    webhook_burst_limit: int
    poll_sources: tuple[PollSource, ...] = field(default_factory=tuple)
    # Data stores survive `cdk destroy` in prod; dev may be torn down (object-locked buckets
    # still cannot be emptied before their retention ends, by design).
    retain_data: bool = True
    # The staff's entry to the dashboards and the lineage site (Serving stack): a name in the
    # Food Bank's own DNS, pointed at the internal load balancer; its certificate is validated
    # by a DNS record there (docs/operating-manual.md).
    dashboard_domain: str
    # Fargate tasks of the dashboards: one per AZ in prod, so a lost AZ leaves one serving.
    dashboard_tasks: int = 2
    dashboard_cpu: int = 512  # 0.5 vCPU: Streamlit renders a page's queries one at a time
    dashboard_memory_mib: int = 1024

    @property
    def prefix(self) -> str:
        return f"accfb-{self.name}"

    @property
    def airflow_environment_name(self) -> str:
        return f"{self.prefix}-airflow"


_POLL_SOURCES = (
    PollSource(name="warehouse", url="https://wms.accfb.internal/api/v1/events"),
    PollSource(name="partner_api", url="https://partners.accfb.internal/api/v1/events"),
)

DEV: Final = EnvironmentConfig(
    name="dev",
    region="us-west-2",
    availability_zones=("us-west-2a", "us-west-2b", "us-west-2c"),
    nat_gateways=1,
    stream_mode=StreamMode.ON_DEMAND,
    stream_shards=0,
    firehose_buffer_seconds=300,
    firehose_buffer_mib=64,
    redshift_base_rpu=4,
    redshift_max_rpu=16,
    redshift_daily_rpu_hours_limit=200,
    redshift_monthly_rpu_hours_limit=3_000,
    mwaa_environment_class="mw1.small",
    mwaa_min_workers=1,
    mwaa_max_workers=2,
    mwaa_schedulers=2,
    mwaa_airflow_version="3.0.6",
    webhook_rate_limit_per_second=100,
    webhook_burst_limit=200,
    poll_sources=_POLL_SOURCES,
    retain_data=False,
    dashboard_domain="dashboards-dev.accfb.org",
    dashboard_tasks=1,
)

PROD: Final = EnvironmentConfig(
    name="prod",
    region="us-west-2",
    availability_zones=("us-west-2a", "us-west-2b", "us-west-2c"),
    nat_gateways=3,
    # Provisioned and sized for the mode: the normal rate's shards all month, resharded up for a
    # campaign or an emergency (on-demand bills per GB, more than these shards at the normal
    # rate, and absorbs only twice its recent peak at once). docs/capacity-and-cost.md.
    stream_mode=StreamMode.PROVISIONED,
    stream_shards=mode_shards()["normal"],
    stream_shards_by_mode=mode_shards(),
    firehose_buffer_seconds=300,
    firehose_buffer_mib=128,
    # Base 4 RPU (the smallest, for warehouses under 32 TB) keeps the minute refresh of normal
    # hours; Serverless scales up to the ceiling under a campaign's or an emergency's load.
    redshift_base_rpu=4,
    redshift_max_rpu=64,
    redshift_daily_rpu_hours_limit=800,
    redshift_monthly_rpu_hours_limit=12_000,
    # The minute refresh is one dbt build and a sensor per model: small workers run it. Two
    # (one per AZ) so a lost AZ does not stop it; up to four for a backfill beside it.
    mwaa_environment_class="mw1.small",
    mwaa_min_workers=2,
    mwaa_max_workers=4,
    mwaa_schedulers=2,
    mwaa_airflow_version="3.0.6",
    webhook_rate_limit_per_second=2_000,
    webhook_burst_limit=4_000,
    poll_sources=_POLL_SOURCES,
    retain_data=True,
    dashboard_domain="dashboards.accfb.org",
    dashboard_tasks=2,
)

ENVIRONMENTS: Final = (DEV, PROD)

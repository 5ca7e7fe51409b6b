"""Monthly cost of the pipeline from dated list prices and operating-mode parameters.

Every price comes from ``prices.json`` (dated); every quantity from ``Workload``. The model is
a sum of price x quantity lines, one or more per service, so a reviewer can check each line
against the pricing page. Assumptions that are not prices are named constants below.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.config.constants import REFRESH_INTERVAL_SECONDS
from ingestion.operations.cost.capacity import (
    MAX_EVENT_BYTES,
    billed_fraction,
    rpu_for,
    shards_needed,
)

PRICES_FILE = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730.0

# Assumptions (not prices), each used once below.
GZIP_RATIO = 0.2  # JSON events gzip to about a fifth
WAREHOUSE_COMPRESSION = 0.25  # Redshift columnar/SUPER storage of the same events
WAREHOUSE_RAW_DAYS = 30  # raw events kept in Redshift; older ones are replayed from S3
CURATED_GB = 500  # curated marts and finance tables, incl. 7 years of history
AVAILABILITY_ZONES = 3
KMS_KEYS = 7
KMS_REQUESTS_PER_MONTH = 5_000_000  # bucket keys and Kinesis data-key caching keep this low
ALARMS = 14
CUSTOM_METRICS = 5
LOG_GB_PER_MONTH = 40.0
SECRETS = 5
NAT_GB_PER_MONTH = 50.0  # Airflow's and the poller's API traffic; bulk data uses endpoints
POLL_SOURCES = 2
WEBHOOK_MS = 40
WEBHOOK_MEMORY_GB = 0.25
POLLER_SECONDS = 2.0
POLLER_MEMORY_GB = 0.5
# The archive's transform Lambda (ingestion/archive/format.py, ARM, 512 MB) takes Firehose's 1 MiB
# batches; ~0.2 s a batch is an estimate to re-measure against its CloudWatch duration.
TRANSFORM_BATCH_MB = 1.0
TRANSFORM_SECONDS_PER_BATCH = 0.2
TRANSFORM_MEMORY_GB = 0.5


@dataclass(frozen=True, kw_only=True)
class Mode:
    name: str
    hours: float
    events_per_second: float


@dataclass(frozen=True, kw_only=True)
class Workload:
    """The operating parameters of one month."""

    modes: tuple[Mode, ...]
    event_kb: float = 3.0
    # The DAG's cadence (every minute, every mode), not a knob of its own.
    refresh_interval_seconds: float = REFRESH_INTERVAL_SECONDS
    refresh_busy_seconds: float = 20.0
    # "by_mode": provisioned shards sized for each mode's rate, resharded as the mode changes
    # (docs/capacity-and-cost.md); "provisioned": sized for the emergency peak all month.
    stream_mode: str = "by_mode"  # or "provisioned" or "on_demand"
    peak_events_per_second: float = 8_000.0
    webhook_share: float = 0.02  # share of events that arrive through the donation webhook
    # The warehouse's base capacity follows the mode too ("by_mode"), or stays at 8 RPU.
    warehouse_base: str = "by_mode"  # or "fixed"
    # "dedicated": an MWAA environment of its own; "shared": the DAGs on the Food Bank's existing
    # Airflow (MWAA), adding worker hours to it.
    orchestration: str = "dedicated"
    mwaa_class: str = "mw1.small"
    # Above the one the environment price includes: prod keeps two, one per AZ.
    mwaa_extra_workers: float = 1.0
    shared_airflow_workers: float = 1.0  # added to the existing environment when shared

    @property
    def hours(self) -> float:
        return sum(m.hours for m in self.modes)

    @property
    def events(self) -> float:
        return sum(m.events_per_second * m.hours * 3600 for m in self.modes)

    @property
    def gb_in(self) -> float:
        return self.events * self.event_kb * 1_000 / 1e9

    @property
    def average_gb_per_day(self) -> float:
        return self.gb_in / (self.hours / 24)


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    monthly_usd: float


@dataclass(frozen=True)
class Estimate:
    workload: Workload
    prices_as_of: str
    region: str
    lines: tuple[Line, ...]
    provisioned_alternative: tuple[Line, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total(self) -> float:
        return sum(line.monthly_usd for line in self.lines)

    def by_service(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for line in self.lines:
            totals[line.service] = totals.get(line.service, 0.0) + line.monthly_usd
        return totals

    @property
    def serverless_warehouse(self) -> float:
        return self.by_service()["Redshift Serverless"]

    @property
    def provisioned_warehouse(self) -> float:
        return sum(line.monthly_usd for line in self.provisioned_alternative)

    @property
    def total_with_provisioned(self) -> float:
        return self.total - self.serverless_warehouse + self.provisioned_warehouse


def load_prices(path: Path = PRICES_FILE) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text())
    return prices


def estimate(workload: Workload, prices: Mapping[str, Any] | None = None) -> Estimate:
    p = prices if prices is not None else load_prices()
    lines: list[Line] = []

    def add(service: str, item: str, usd: float) -> None:
        lines.append(Line(service, item, usd))

    hours = workload.hours
    events = workload.events
    gb_in = workload.gb_in

    # Kinesis Data Streams
    k = p["kinesis"]
    if workload.stream_mode in {"provisioned", "by_mode"}:
        peak = shards_needed(
            events_per_second=workload.peak_events_per_second, event_bytes=MAX_EVENT_BYTES
        ).shards
        for mode in workload.modes:
            if mode.hours <= 0:
                continue
            shards = (
                peak
                if workload.stream_mode == "provisioned"
                else max(
                    1,
                    shards_needed(
                        events_per_second=mode.events_per_second, event_bytes=MAX_EVENT_BYTES
                    ).shards,
                )
            )
            add(
                "Kinesis",
                f"{mode.name}: {shards} shards x {mode.hours:g} h, 7-day retention",
                shards
                * mode.hours
                * (k["provisioned_shard_hour"] + k["provisioned_extended_retention_shard_hour"]),
            )
        units = events * math.ceil(workload.event_kb / 25)
        add(
            "Kinesis",
            "PUT payload units",
            units / 1e6 * k["provisioned_put_payload_units_per_million"],
        )
    else:
        add("Kinesis", "on-demand stream", hours * k["on_demand_stream_hour"])
        add("Kinesis", "ingest", gb_in * k["on_demand_ingest_per_gb"])
        add("Kinesis", "reads (2 consumers)", 2 * gb_in * k["on_demand_retrieval_per_gb"])
        retained_gb = workload.average_gb_per_day * 6  # days 2-7 of retention
        add(
            "Kinesis",
            "7-day retention",
            retained_gb * k["on_demand_extended_retention_per_gb_month"],
        )

    # Firehose archive: billed per record rounded up to 5 KB.
    f = p["firehose"]
    billed_kb = max(workload.event_kb, f["record_billing_increment_kb"])
    add("Firehose", "ingest (5 KB rounding)", events * billed_kb * 1_000 / 1e9 * f["ingest_per_gb"])
    add("Firehose", "dynamic partitioning", gb_in * f["dynamic_partitioning_per_gb"])
    # Partition keys come from the transform Lambda (no JQ): its requests and GB-seconds.
    lam = p["lambda"]
    batches = gb_in * 1_000 / TRANSFORM_BATCH_MB
    add(
        "Firehose",
        "transform Lambda (partition keys)",
        batches / 1e6 * lam["requests_per_million"]
        + batches * TRANSFORM_SECONDS_PER_BATCH * TRANSFORM_MEMORY_GB * lam["arm_gb_second"],
    )
    objects = 4 * (3600 / 300) * hours  # 4 sources, one object per 5-minute buffer
    add(
        "Firehose",
        "partitioned objects",
        objects / 1000 * f["dynamic_partitioning_per_1000_objects"],
    )

    # S3: one year of raw, in steady state across its lifecycle tiers, plus the audit exports.
    s = p["s3"]
    daily_gz = workload.average_gb_per_day * GZIP_RATIO
    add(
        "S3",
        "raw archive (1 year, tiered)",
        daily_gz
        * (
            30 * s["standard_gb_month"]
            + 60 * s["standard_ia_gb_month"]
            + 275 * s["glacier_instant_gb_month"]
        ),
    )
    add("S3", "audit exports (7 years)", CURATED_GB * GZIP_RATIO * s["deep_archive_gb_month"])
    add("S3", "PUT requests", objects / 1000 * s["put_per_1000"])

    # Redshift Serverless: RPU per mode x billed share of the hour.
    r = p["redshift"]
    fraction = billed_fraction(workload.refresh_interval_seconds, workload.refresh_busy_seconds)
    base_rpu = 4 if workload.warehouse_base == "by_mode" else 8
    for mode in workload.modes:
        if mode.hours <= 0:
            continue
        rpu = rpu_for(mode.events_per_second, base_rpu=base_rpu)
        add(
            "Redshift Serverless",
            f"{mode.name}: {rpu} RPU x {mode.hours:g} h x {fraction:.0%} billed",
            rpu * mode.hours * fraction * r["serverless_rpu_hour"],
        )
    storage_gb = (
        workload.average_gb_per_day * WAREHOUSE_COMPRESSION * WAREHOUSE_RAW_DAYS + CURATED_GB
    )
    add(
        "Redshift Serverless",
        f"managed storage {storage_gb:,.0f} GB",
        storage_gb * r["managed_storage_gb_month"],
    )

    # The alternative: a provisioned RA3 cluster sized for the emergency peak, on all month
    # (it cannot grow in minutes when a disaster starts).
    peak_rpu = max(rpu_for(m.events_per_second) for m in workload.modes)
    peak_rpu = max(peak_rpu, rpu_for(workload.peak_events_per_second))
    nodes = max(2, math.ceil(peak_rpu * r["rpu_memory_gib"] / r["ra3_4xlarge_memory_gib"]))
    provisioned = (
        Line(
            "Redshift provisioned",
            f"{nodes} x ra3.4xlarge, always on",
            nodes * hours * r["ra3_4xlarge_node_hour"],
        ),
        Line(
            "Redshift provisioned",
            f"managed storage {storage_gb:,.0f} GB",
            storage_gb * r["managed_storage_gb_month"],
        ),
    )

    # MWAA
    m = p["mwaa"][workload.mwaa_class]
    if workload.orchestration == "shared":
        add(
            "MWAA",
            f"{workload.shared_airflow_workers:g} worker added to the existing environment",
            workload.shared_airflow_workers * hours * m["additional_worker_hour"],
        )
    else:
        add("MWAA", f"{workload.mwaa_class} environment", hours * m["environment_hour"])
        if workload.mwaa_extra_workers:
            add(
                "MWAA",
                "extra workers",
                workload.mwaa_extra_workers * hours * m["additional_worker_hour"],
            )

    # Edge: webhook (API Gateway + WAF + Lambda) and poller (Lambda).
    webhook_requests = events * workload.webhook_share
    add(
        "API Gateway + WAF",
        "REST requests",
        webhook_requests / 1e6 * p["api_gateway"]["rest_requests_per_million"],
    )
    w = p["waf"]
    add(
        "API Gateway + WAF",
        "web ACL",
        w["web_acl_month"]
        + 2 * w["rule_month"]
        + webhook_requests / 1e6 * w["requests_per_million"],
    )
    poll_invocations = POLL_SOURCES * 60 * hours
    add(
        "Lambda",
        "webhook + poller",
        (webhook_requests + poll_invocations) / 1e6 * lam["requests_per_million"]
        + (
            webhook_requests * WEBHOOK_MS / 1000 * WEBHOOK_MEMORY_GB
            + poll_invocations * POLLER_SECONDS * POLLER_MEMORY_GB
        )
        * lam["arm_gb_second"],
    )

    # Network
    n = p["network"]
    add(
        "VPC",
        "3 NAT gateways",
        AVAILABILITY_ZONES * hours * n["nat_gateway_hour"]
        + NAT_GB_PER_MONTH * n["nat_gateway_per_gb"],
    )
    add(
        "VPC",
        "Kinesis endpoint (3 AZ)",
        AVAILABILITY_ZONES * hours * n["interface_endpoint_az_hour"]
        + gb_in * n["interface_endpoint_per_gb"],
    )

    # The dashboards, the lineage site and the availability objective: priced in their own
    # module (imported here, as it builds on this one's Line).
    from ingestion.operations.cost.serving import serving_lines

    lines.extend(serving_lines(p))

    # The small fixed costs.
    c = p["cloudwatch"]
    add(
        "CloudWatch",
        "alarms, metrics, dashboard, logs",
        ALARMS * c["standard_alarm_month"]
        + CUSTOM_METRICS * c["custom_metric_month"]
        + c["dashboard_month"]
        + LOG_GB_PER_MONTH * c["logs_ingest_per_gb"],
    )
    add(
        "KMS + Secrets",
        "keys, requests, secrets",
        KMS_KEYS * p["kms"]["key_month"]
        + KMS_REQUESTS_PER_MONTH / 10_000 * p["kms"]["requests_per_10k"]
        + SECRETS * p["secrets_manager"]["secret_month"],
    )
    add(
        "DynamoDB",
        "poll cursors",
        poll_invocations * 2 / 1e6 * p["dynamodb"]["on_demand_writes_per_million"],
    )

    notes = (
        f"{workload.average_gb_per_day:,.0f} GB/day raw on average; "
        f"{gb_in / 1000:,.1f} TB this month",
        f"Redshift billed {fraction:.0%} of each hour: "
        f"refresh every {workload.refresh_interval_seconds:g} s",
    )
    return Estimate(
        workload=workload,
        prices_as_of=str(p["as_of"]),
        region=str(p["region"]),
        lines=tuple(lines),
        provisioned_alternative=provisioned,
        notes=notes,
    )

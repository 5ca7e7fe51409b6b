"""Monitoring: one alarm per way the pipeline can go stale or wrong, routed to page or ticket.

Each alarm is named `<prefix>-<alarm id>` and its description points at the section of
docs/runbooks.md with the same id (a test keeps the two in step). What pages at night is what
threatens the 2-minute freshness goal or loses data; the rest opens a ticket for office hours
(docs/on-call.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aws_cdk import (
    Duration,
    Stack,
)
from aws_cdk import (
    aws_apigateway as apigw,
)
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cloudwatch_actions as actions,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kinesis as kinesis,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from constructs import Construct

from infra.settings import FRESHNESS_TARGET_SECONDS, METRIC_NAMESPACE, EnvironmentConfig
from ingestion.config.constants import REFRESH_STALLED_MINUTES

RUNBOOK = "docs/runbooks.md"


class Severity(StrEnum):
    PAGE = "page"  # wakes the on-call engineer, any hour
    TICKET = "ticket"  # next business morning


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    alarm_id: str
    summary: str
    metric: cloudwatch.IMetric
    threshold: float
    evaluation_periods: int
    datapoints_to_alarm: int
    severity: Severity
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING


class MonitoringStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        stream: kinesis.IStream,
        delivery_stream_name: str,
        workgroup_name: str,
        airflow_environment_name: str,
        webhook_api: apigw.RestApi,
        webhook_fn: lambda_.IFunction,
        poller_fn: lambda_.IFunction,
        poller_dead_letters: sqs.IQueue,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        key = kms.Key(
            self,
            "AlertsKey",
            alias=f"alias/{config.prefix}-alerts",
            description="Encrypts the paging and ticket topics",
            enable_key_rotation=True,
        )
        # CloudWatch publishes to an encrypted topic only if it may use the key.
        key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        # Subscriptions (the paging service's HTTPS endpoint, the ticket queue's e-mail) are
        # added by the on-call lead at onboarding, not kept in code: docs/on-call.md.
        self.topics = {
            severity: sns.Topic(
                self,
                f"{severity.value.title()}Topic",
                topic_name=f"{config.prefix}-{severity.value}",
                display_name=f"ACCFB pipeline {severity.value} ({config.name})",
                master_key=key,
                enforce_ssl=True,
            )
            for severity in Severity
        }

        pipeline = _pipeline_metrics(config)
        specs = [
            AlarmSpec(
                alarm_id="stream-write-throttled",
                summary="More than 1% of writes to the stream are throttled",
                metric=_percent_per_minute(
                    part=stream.metric_write_provisioned_throughput_exceeded(
                        statistic="Sum", period=Duration.minutes(1)
                    ),
                    whole=stream.metric_incoming_records(
                        statistic="Sum", period=Duration.minutes(1)
                    ),
                    label="throttled %",
                ),
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                severity=Severity.PAGE,
            ),
            AlarmSpec(
                alarm_id="stream-iterator-age",
                summary="A stream consumer is more than a minute behind",
                metric=stream.metric_get_records_iterator_age_milliseconds(
                    statistic="Maximum", period=Duration.minutes(1)
                ),
                threshold=60_000,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                severity=Severity.PAGE,
            ),
            AlarmSpec(
                alarm_id="archive-delivery-freshness",
                summary="The raw archive is more than 15 minutes behind the stream",
                metric=_firehose(delivery_stream_name, "DeliveryToS3.DataFreshness", "Maximum"),
                threshold=900,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="archive-delivery-failures",
                summary="Firehose deliveries to the raw archive are failing",
                metric=_firehose(delivery_stream_name, "DeliveryToS3.Success", "Average"),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="landing-lag",
                summary="The streaming view is more than 2 minutes behind the stream",
                metric=pipeline["LandingLagSeconds"],
                threshold=FRESHNESS_TARGET_SECONDS,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                severity=Severity.PAGE,
            ),
            AlarmSpec(
                alarm_id="freshness-p95",
                summary="P95 source-to-dashboard freshness is over 2 minutes",
                metric=pipeline["FreshnessP95Seconds"],
                threshold=FRESHNESS_TARGET_SECONDS,
                evaluation_periods=5,
                datapoints_to_alarm=3,
                severity=Severity.PAGE,
                # A value exists only for a minute in which gifts reached the mart: at 3 a.m.
                # there may be none, and silence is calm. A stopped refresh is refresh-stalled.
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            AlarmSpec(
                alarm_id="refresh-stalled",
                summary=f"No refresh has completed in {REFRESH_STALLED_MINUTES} minutes",
                metric=pipeline["RefreshCompleted"],
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                evaluation_periods=REFRESH_STALLED_MINUTES,
                datapoints_to_alarm=REFRESH_STALLED_MINUTES,
                severity=Severity.PAGE,
                # The heartbeat is published by every completed refresh, gifts or none: its
                # silence is exactly the failure this alarm is for.
                missing=cloudwatch.TreatMissingData.BREACHING,
            ),
            AlarmSpec(
                alarm_id="quarantine-surge",
                summary="Many events quarantined: likely an upstream schema change",
                metric=pipeline["QuarantinedEvents"].with_(period=Duration.minutes(5)),
                threshold=500,
                evaluation_periods=2,
                datapoints_to_alarm=2,
                severity=Severity.PAGE,
            ),
            AlarmSpec(
                alarm_id="data-quality-failures",
                summary="A dbt test or Soda check failed",
                metric=pipeline["DataQualityFailures"].with_(period=Duration.minutes(15)),
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="conflicting-redeliveries",
                summary="A producer reused an event_id with different content",
                metric=pipeline["ConflictingRedeliveries"].with_(period=Duration.minutes(15)),
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="archive-processing-failed",
                summary="The archive's transform failed records (errors/ prefix)",
                metric=pipeline["ArchiveProcessingFailed"].with_(period=Duration.minutes(15)),
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="poller-item-dead-letters",
                summary="The poller dead-lettered items it could not put on the stream",
                metric=pipeline["PollerDeadLetters"].with_(period=Duration.minutes(15)),
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="dag-failures",
                summary="Airflow task instances are failing",
                metric=cloudwatch.Metric(
                    namespace="AmazonMWAA",
                    metric_name="TaskInstanceFailures",
                    dimensions_map={
                        "Environment": airflow_environment_name,
                        "Function": "Executor",
                    },
                    statistic="Sum",
                    period=Duration.minutes(5),
                ),
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="webhook-5xx",
                summary="The donation webhook is answering with server errors",
                metric=_percent_per_minute(
                    part=webhook_api.metric_server_error(
                        statistic="Sum", period=Duration.minutes(1)
                    ),
                    whole=webhook_api.metric_count(statistic="Sum", period=Duration.minutes(1)),
                    label="5xx %",
                ),
                threshold=1,
                evaluation_periods=5,
                datapoints_to_alarm=5,
                severity=Severity.PAGE,
            ),
            AlarmSpec(
                alarm_id="poller-errors",
                summary="The warehouse/partner API poller keeps failing",
                metric=poller_fn.metric_errors(statistic="Sum", period=Duration.minutes(5)),
                threshold=0,
                evaluation_periods=3,
                datapoints_to_alarm=3,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="poller-dead-letters",
                summary="Scheduled polls gave up and were dead-lettered",
                metric=poller_dead_letters.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=Duration.minutes(5)
                ),
                threshold=0,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
            AlarmSpec(
                alarm_id="warehouse-compute-budget",
                summary="Redshift Serverless passed its daily RPU-hour usage limit",
                metric=cloudwatch.Metric(
                    namespace="AWS/Redshift-Serverless",
                    metric_name="ComputeSeconds",
                    dimensions_map={"Workgroup": workgroup_name},
                    statistic="Sum",
                    period=Duration.days(1),
                ),
                threshold=config.redshift_daily_rpu_hours_limit * 3600,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                severity=Severity.TICKET,
            ),
        ]
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in specs:
            alarm = cloudwatch.Alarm(
                self,
                _construct_id(spec.alarm_id),
                alarm_name=f"{config.prefix}-{spec.alarm_id}",
                alarm_description=(
                    f"[{spec.severity.value}] {spec.summary}. Runbook: {RUNBOOK}#{spec.alarm_id}"
                ),
                metric=spec.metric,
                threshold=spec.threshold,
                comparison_operator=spec.comparison,
                evaluation_periods=spec.evaluation_periods,
                datapoints_to_alarm=spec.datapoints_to_alarm,
                treat_missing_data=spec.missing,
            )
            topic_action = actions.SnsAction(self.topics[spec.severity])
            alarm.add_alarm_action(topic_action)
            # Recovery goes to the same place, so whoever was paged sees it clear.
            alarm.add_ok_action(topic_action)
            self.alarms[spec.alarm_id] = alarm

        self._dashboard(config, pipeline, stream, delivery_stream_name, webhook_fn)

    def _dashboard(
        self,
        config: EnvironmentConfig,
        pipeline: dict[str, cloudwatch.Metric],
        stream: kinesis.IStream,
        delivery_stream_name: str,
        webhook_fn: lambda_.IFunction,
    ) -> None:
        dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.prefix}-pipeline"
        )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title="Alarms", alarms=list(self.alarms.values()), width=24, height=4
            )
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Freshness and landing lag (s)",
                left=[pipeline["FreshnessP95Seconds"], pipeline["LandingLagSeconds"]],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=FRESHNESS_TARGET_SECONDS, label="2-minute goal"
                    )
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Stream in / throttled (records per minute)",
                left=[stream.metric_incoming_records(statistic="Sum")],
                right=[stream.metric_write_provisioned_throughput_exceeded(statistic="Sum")],
                width=12,
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Consumer iterator age (ms)",
                left=[stream.metric_get_records_iterator_age_milliseconds(statistic="Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Archive freshness (s)",
                left=[_firehose(delivery_stream_name, "DeliveryToS3.DataFreshness", "Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Quarantined events and quality failures",
                left=[pipeline["QuarantinedEvents"], pipeline["DataQualityFailures"]],
                right=[webhook_fn.metric_errors(statistic="Sum")],
                width=8,
            ),
        )


def _percent_per_minute(
    *, part: cloudwatch.IMetric, whole: cloudwatch.IMetric, label: str
) -> cloudwatch.MathExpression:
    """part as a percentage of whole each minute; 0 when nothing happened, so silence is calm."""
    return cloudwatch.MathExpression(
        expression="IF(whole > 0, 100 * part / whole, 0)",
        using_metrics={"part": part, "whole": whole},
        period=Duration.minutes(1),
        label=label,
    )


def _pipeline_metrics(config: EnvironmentConfig) -> dict[str, cloudwatch.Metric]:
    """The custom metrics the refresh (and, for PollerDeadLetters, each poll) publishes, per
    environment."""
    statistic = {
        "FreshnessP95Seconds": "Maximum",
        "LandingLagSeconds": "Maximum",
        "QuarantinedEvents": "Sum",
        "DataQualityFailures": "Sum",
        "RefreshCompleted": "Sum",
        "ConflictingRedeliveries": "Sum",
        "ArchiveProcessingFailed": "Sum",
        "PollerDeadLetters": "Sum",
    }
    return {
        name: cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name=name,
            dimensions_map={"Environment": config.name},
            statistic=stat,
            period=Duration.minutes(1),
        )
        for name, stat in statistic.items()
    }


def _firehose(delivery_stream_name: str, metric_name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Firehose",
        metric_name=metric_name,
        dimensions_map={"DeliveryStreamName": delivery_stream_name},
        statistic=statistic,
        period=Duration.minutes(5),
    )


def _construct_id(alarm_id: str) -> str:
    return "".join(part.title() for part in alarm_id.split("-")) + "Alarm"

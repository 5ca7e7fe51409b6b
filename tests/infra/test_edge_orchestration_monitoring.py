"""Edge, Airflow and monitoring: signed webhook path, scheduled poller, HA Airflow, alarms."""

from __future__ import annotations

import re
from pathlib import Path

from aws_cdk.assertions import Capture, Match, Template

from infra.pipeline import PipelineStage
from infra.settings import FRESHNESS_TARGET_SECONDS, PROD

RUNBOOKS = Path(__file__).resolve().parents[2] / "docs" / "runbooks.md"


def test_webhook_lambda_gets_stream_and_secret_from_the_environment(prod: PipelineStage) -> None:
    Template.from_stack(prod.edge).has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "ingestion.edge.webhook.handler",
            "Architectures": ["arm64"],
            "Environment": {
                "Variables": {
                    "ACCFB_STREAM_NAME": Match.any_value(),
                    "ACCFB_WEBHOOK_SECRET_ARN": Match.any_value(),
                }
            },
        },
    )


def test_webhook_is_a_post_with_signature_headers_behind_waf(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.edge)
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "HttpMethod": "POST",
            "RequestValidatorId": Match.any_value(),
            "RequestParameters": {
                "method.request.header.X-Accfb-Signature": True,
                "method.request.header.X-Accfb-Timestamp": True,
            },
        },
    )
    template.resource_count_is("AWS::WAFv2::WebACLAssociation", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {"TracingEnabled": True, "AccessLogSetting": Match.any_value()},
    )


def test_each_api_source_is_polled_every_minute_with_retries_and_a_dead_letter_queue(
    prod: PipelineStage,
) -> None:
    template = Template.from_stack(prod.edge)
    template.resource_count_is("AWS::Scheduler::Schedule", len(PROD.poll_sources))
    template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "Target": Match.object_like(
                {
                    "DeadLetterConfig": {"Arn": Match.any_value()},
                    "RetryPolicy": Match.object_like({"MaximumRetryAttempts": 3}),
                }
            ),
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "Replicas": [
                Match.object_like(
                    {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
                )
            ]
        },
    )


def test_airflow_runs_the_configured_schedulers_privately_with_secrets_manager_connections(
    prod: PipelineStage,
) -> None:
    options = Capture()
    Template.from_stack(prod.orchestration).has_resource_properties(
        "AWS::MWAA::Environment",
        {
            "EnvironmentClass": PROD.mwaa_environment_class,
            "Schedulers": PROD.mwaa_schedulers,
            "MinWorkers": PROD.mwaa_min_workers,
            "WebserverAccessMode": "PRIVATE_ONLY",
            "RequirementsS3Path": "config/requirements.txt",
            "NetworkConfiguration": {
                "SubnetIds": Match.any_value(),
                "SecurityGroupIds": Match.any_value(),
            },
            "AirflowConfigurationOptions": options,
        },
    )
    assert options.as_object()["secrets.backend"].endswith("SecretsManagerBackend")


def _alarms(stage: PipelineStage) -> dict[str, dict[str, object]]:
    template = Template.from_stack(stage.monitoring)
    return {
        props["Properties"]["AlarmName"].removeprefix(f"{PROD.prefix}-"): props["Properties"]
        for props in template.find_resources("AWS::CloudWatch::Alarm").values()
    }


def test_every_alarm_has_a_runbook_section(prod: PipelineStage) -> None:
    headings = set(re.findall(r"^## `?([a-z0-9-]+)`?", RUNBOOKS.read_text(), re.MULTILINE))
    alarms = _alarms(prod)
    assert set(alarms) <= headings
    for alarm_id, props in alarms.items():
        assert f"docs/runbooks.md#{alarm_id}" in str(props["AlarmDescription"])


def test_alarms_cover_lag_freshness_quality_archive_and_dags(prod: PipelineStage) -> None:
    assert {
        "stream-write-throttled",
        "stream-iterator-age",
        "archive-delivery-freshness",
        "archive-delivery-failures",
        "landing-lag",
        "freshness-p95",
        "data-quality-failures",
        "dag-failures",
    } <= set(_alarms(prod))


def test_freshness_alarm_pages_at_two_minutes_and_treats_quiet_hours_as_calm(
    prod: PipelineStage,
) -> None:
    template = Template.from_stack(prod.monitoring)
    page_topic = Capture()
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PROD.prefix}-freshness-p95",
            "Namespace": "ACCFB/Pipeline",
            "MetricName": "FreshnessP95Seconds",
            "Threshold": FRESHNESS_TARGET_SECONDS,
            # No gift in a minute publishes no freshness: that is not an outage.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [page_topic],
        },
    )
    topics = template.find_resources(
        "AWS::SNS::Topic", {"Properties": {"TopicName": f"{PROD.prefix}-page"}}
    )
    assert page_topic.as_object() == {"Ref": next(iter(topics))}


def test_topics_are_encrypted(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.monitoring)
    template.resource_count_is("AWS::SNS::Topic", 2)
    template.all_resources_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_a_stalled_refresh_pages_when_its_heartbeat_stops(prod: PipelineStage) -> None:
    from ingestion.config.constants import REFRESH_STALLED_MINUTES

    template = Template.from_stack(prod.monitoring)
    page_topic = Capture()
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PROD.prefix}-refresh-stalled",
            "Namespace": "ACCFB/Pipeline",
            "MetricName": "RefreshCompleted",
            "Statistic": "Sum",
            "Period": 60,
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "EvaluationPeriods": REFRESH_STALLED_MINUTES,
            "DatapointsToAlarm": REFRESH_STALLED_MINUTES,
            "TreatMissingData": "breaching",
            "AlarmActions": [page_topic],
        },
    )
    topics = template.find_resources(
        "AWS::SNS::Topic", {"Properties": {"TopicName": f"{PROD.prefix}-page"}}
    )
    assert page_topic.as_object() == {"Ref": next(iter(topics))}


def test_hostile_input_alarms_read_the_metrics_the_pipeline_publishes(prod: PipelineStage) -> None:
    # Issue 12: a conflicting redelivery, a record the archive's transform failed and a poller
    # dead letter each raise a ticket on the first datapoint above zero.
    alarms = _alarms(prod)
    for alarm_id, metric in {
        "conflicting-redeliveries": "ConflictingRedeliveries",
        "archive-processing-failed": "ArchiveProcessingFailed",
        "poller-item-dead-letters": "PollerDeadLetters",
    }.items():
        props = alarms[alarm_id]
        assert (props["MetricName"], props["Namespace"]) == (metric, "ACCFB/Pipeline")
        assert props["Dimensions"] == [{"Name": "Environment", "Value": PROD.name}]
        assert (props["Threshold"], props["Statistic"]) == (0, "Sum")
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"


def test_the_poller_keeps_item_dead_letters_on_a_queue_and_may_publish_only_its_namespace(
    prod: PipelineStage,
) -> None:
    template = Template.from_stack(prod.edge)
    template.has_resource_properties(
        "AWS::SQS::Queue",
        {"QueueName": f"{PROD.prefix}-poller-item-dlq", "MessageRetentionPeriod": 14 * 24 * 3600},
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "ingestion.edge.poller.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "ACCFB_POLLER_DEAD_LETTER_QUEUE_URL": Match.any_value(),
                        "ACCFB_ENVIRONMENT": PROD.name,
                    }
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "cloudwatch:PutMetricData",
                                "Condition": {
                                    "StringEquals": {"cloudwatch:namespace": "ACCFB/Pipeline"}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )

"""Ingestion edge: the donation webhook receiver and the scheduled warehouse/partner API poller.

Both write to the stream with the event's `event_id` as its identity, so a retry on either side
(the donation platform re-sending, the scheduler re-invoking) can only produce a duplicate that
the warehouse's dedup on event_id removes, never a lost or double-counted donation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import (
    aws_apigateway as apigw,
)
from aws_cdk import (
    aws_dynamodb as dynamodb,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kinesis as kinesis,
)
from aws_cdk import (
    aws_lambda as lambda_,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_scheduler as scheduler,
)
from aws_cdk import (
    aws_scheduler_targets as targets,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from aws_cdk import (
    aws_wafv2 as wafv2,
)
from constructs import Construct

from infra.settings import METRIC_NAMESPACE, EnvironmentConfig
from infra.stacks._common import (
    KMS_GRANT_WILDCARDS,
    LAMBDA_BASIC_EXECUTION,
    LAMBDA_RUNTIME,
    LAMBDA_RUNTIME_REASON,
    acknowledge,
    acknowledge_all,
    data_removal_policy,
    nag_arn,
    wildcard_resource,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
# The handlers use only the standard library, boto3 (in the Lambda runtime), the contract
# package, the client factory and the PutRecords batcher, so the asset is those files of this
# repo: no bundling, no Docker, synth offline. tests/edge/test_packaging.py imports each handler
# from exactly these files.
HANDLER_ASSET_EXCLUDE = [
    "*",
    ".*",
    "!ingestion",
    "!ingestion/__init__.py",
    "!ingestion/config",
    "!ingestion/config/__init__.py",
    "!ingestion/config/clients.py",
    "!ingestion/contract",
    "!ingestion/contract/__init__.py",
    "!ingestion/contract/keys.py",
    "!ingestion/contract/limits.py",
    "!ingestion/contract/registry.py",
    "!ingestion/contract/validation.py",
    "!ingestion/contract/schemas",
    "!ingestion/contract/schemas/**",
    "!ingestion/edge",
    "!ingestion/edge/**",
    "!ingestion/kinesis",
    "!ingestion/kinesis/__init__.py",
    "!ingestion/kinesis/batcher.py",
    "**/__pycache__",
]
RUNTIME = LAMBDA_RUNTIME


class EdgeStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        stream: kinesis.IStream,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = data_removal_policy(config)
        code = lambda_.Code.from_asset(str(REPO_ROOT), exclude=HANDLER_ASSET_EXCLUDE)

        # The donation platform signs each webhook with a shared secret it issues; operators
        # paste it here (docs/runbooks.md, webhook-5xx); nothing secret is in code or template.
        self.signing_secret = secretsmanager.Secret(
            self,
            "WebhookSigningSecret",
            secret_name=f"{config.prefix}/edge/webhook-signing-secret",
            description="HMAC-SHA256 key shared with the donation platform",
        )
        self.webhook_fn = lambda_.Function(
            self,
            "WebhookFn",
            function_name=f"{config.prefix}-donation-webhook",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="ingestion.edge.webhook.handler",
            code=code,
            memory_size=256,
            timeout=Duration.seconds(10),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=_log_group(self, "WebhookLogs", removal),
            environment={
                "ACCFB_STREAM_NAME": stream.stream_name,
                "ACCFB_WEBHOOK_SECRET_ARN": self.signing_secret.secret_arn,
            },
        )
        stream.grant_write(self.webhook_fn)
        self.signing_secret.grant_read(self.webhook_fn)

        self.api = self._webhook_api(config, removal)

        self.dead_letters = sqs.Queue(
            self,
            "PollerDeadLetters",
            queue_name=f"{config.prefix}-poller-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This is the dead-letter queue; its messages are inspected and replayed by hand.",
        )
        # Items the poller cannot put (too large, a repeated key), named without their content:
        # kept as long as the scheduler's dead letters, re-fetched by hand from their cursor.
        self.item_dead_letters = sqs.Queue(
            self,
            "PollerItemDeadLetters",
            queue_name=f"{config.prefix}-poller-item-dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.item_dead_letters,
            "AwsSolutions-SQS3",
            "This is a dead-letter queue itself: the poller's refused items, inspected by hand.",
        )
        self.cursors = dynamodb.TableV2(
            self,
            "PollCursors",
            table_name=f"{config.prefix}-poll-cursors",
            partition_key=dynamodb.Attribute(name="source", type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=config.retain_data,
            removal_policy=removal,
        )
        self.api_credentials = secretsmanager.Secret(
            self,
            "PollerApiCredentials",
            secret_name=f"{config.prefix}/edge/poller-api-credentials",
            description='Bearer tokens per source, JSON {"warehouse": "...", "partner_api": "..."}',
        )
        acknowledge(self.webhook_fn, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
        self.poller_fn = lambda_.Function(
            self,
            "PollerFn",
            function_name=f"{config.prefix}-api-poller",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="ingestion.edge.poller.handler",
            code=code,
            memory_size=512,
            # Shorter than the schedule period, so two polls of a source seldom overlap (the
            # cursor's conditional write makes an overlap harmless anyway).
            timeout=Duration.seconds(50),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=_log_group(self, "PollerLogs", removal),
            environment={
                "ACCFB_STREAM_NAME": stream.stream_name,
                "ACCFB_CURSOR_TABLE": self.cursors.table_name,
                "ACCFB_POLLER_CREDENTIALS_ARN": self.api_credentials.secret_arn,
                "ACCFB_POLL_SOURCES": json.dumps({s.name: s.url for s in config.poll_sources}),
                "ACCFB_POLLER_DEAD_LETTER_QUEUE_URL": self.item_dead_letters.queue_url,
                "ACCFB_ENVIRONMENT": config.name,
            },
        )
        acknowledge(self.poller_fn, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
        stream.grant_write(self.poller_fn)
        self.cursors.grant_read_write_data(self.poller_fn)
        self.api_credentials.grant_read(self.poller_fn)
        self.item_dead_letters.grant_send_messages(self.poller_fn)
        # PutMetricData has no resource; the condition keeps the poller to the pipeline's namespace.
        self.poller_fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )

        for source in config.poll_sources:
            scheduler.Schedule(
                self,
                f"Poll{source.name.title().replace('_', '')}",
                schedule_name=f"{config.prefix}-poll-{source.name.replace('_', '-')}",
                schedule=scheduler.ScheduleExpression.rate(Duration.minutes(source.every_minutes)),
                target=targets.LambdaInvoke(
                    self.poller_fn,
                    input=scheduler.ScheduleTargetInput.from_object({"source": source.name}),
                    retry_attempts=3,
                    # A poll older than two periods is superseded by the next one, which resumes
                    # from the same cursor: nothing is lost by dropping it.
                    max_event_age=Duration.minutes(2 * source.every_minutes + 1),
                    dead_letter_queue=self.dead_letters,
                ),
                description=f"Poll the {source.name} API every {source.every_minutes} min",
            )

        for secret in (self.signing_secret, self.api_credentials):
            acknowledge(
                secret,
                "AwsSolutions-SMG4",
                "Issued by the external system (donation platform / partner APIs); rotated "
                "there and pasted here per the rotation runbook, so no rotation Lambda.",
            )
        for fn in (self.webhook_fn, self.poller_fn):
            acknowledge_all(
                fn.role or fn,
                "Basic execution only writes the function's own logs; X-Ray's PutTraceSegments "
                "has no resource; KMS actions are CDK's grant on the stream key.",
                LAMBDA_BASIC_EXECUTION,
                "AwsSolutions-IAM5[Resource::*]",
                *KMS_GRANT_WILDCARDS,
            )
        acknowledge(
            self,
            wildcard_resource(f"{nag_arn(self.poller_fn)}:*"),
            "The scheduler's role may invoke any version of the poller function, and only it.",
        )
        CfnOutput(self, "WebhookUrl", value=self.api.url_for_path("/donations"))

    def _webhook_api(self, config: EnvironmentConfig, removal: RemovalPolicy) -> apigw.RestApi:
        access_logs = _log_group(self, "WebhookAccessLogs", removal)
        api = apigw.RestApi(
            self,
            "WebhookApi",
            rest_api_name=f"{config.prefix}-donation-webhook",
            description="Donation platform webhooks into the event stream",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.DESTROY,
            deploy_options=apigw.StageOptions(
                stage_name="v1",
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                # Above the emergency peak of donation webhooks; the platform retries a 429.
                throttling_rate_limit=config.webhook_rate_limit_per_second,
                throttling_burst_limit=config.webhook_burst_limit,
            ),
        )
        validator = api.add_request_validator(
            "SignedRequests", validate_request_parameters=True, validate_request_body=False
        )
        donations = api.root.add_resource("donations")
        method = donations.add_method(
            "POST",
            apigw.LambdaIntegration(self.webhook_fn),
            request_validator=validator,
            request_parameters={
                "method.request.header.X-Accfb-Signature": True,
                "method.request.header.X-Accfb-Timestamp": True,
            },
        )
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "The only method validates its signature headers; the body is checked by the "
            "handler after the HMAC, and a body that fails the contract is still kept "
            "(quarantined downstream), so the gateway must not reject it.",
        )
        acknowledge(
            api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "API Gateway's account-level logging role; AWS's managed policy is the documented one.",
        )
        for rule in ("AwsSolutions-APIG4", "AwsSolutions-COG4"):
            acknowledge(
                method,
                rule,
                "A webhook sender cannot sign with SigV4 or hold a Cognito token; every request "
                "is authenticated by its HMAC signature in the handler, before anything is used.",
            )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebhookAcl",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility("webhook-acl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            # The platform sends from a few addresses; this stops a flood from
                            # anyone else long before it reaches the stream.
                            limit=config.webhook_rate_limit_per_second * 300,
                            aggregate_key_type="IP",
                        )
                    ),
                    visibility_config=_visibility("rate-per-ip"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="known-bad-inputs",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=_visibility("known-bad-inputs"),
                ),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "WebhookAclAssociation",
            resource_arn=api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        return api


def _log_group(scope: Construct, construct_id: str, removal: RemovalPolicy) -> logs.LogGroup:
    return logs.LogGroup(
        scope, construct_id, retention=logs.RetentionDays.THREE_MONTHS, removal_policy=removal
    )


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )

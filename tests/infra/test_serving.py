"""Serving: the dashboards on Fargate behind the sign-in, the private lineage site behind the same
entry, the dashboards-down alarm, and the availability objective's evaluator and burn-rate
alarms; the image's build context holds what its Dockerfile copies."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Capture, Match, Template

from infra.pipeline import PipelineStage
from infra.settings import PROD
from infra.stacks.serving import DASHBOARD_DB_ROLES, DOCKERFILE, HEALTH_PATH
from ingestion.config.settings import Settings
from ingestion.operations.availability import BURN_RATE_ALERTS
from tests.infra.conftest import Synthesised

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = REPO_ROOT / "docs" / "runbooks.md"
SIGN_IN_THEN_FORWARD = [
    Match.object_like({"Type": "authenticate-cognito", "Order": 1}),
    Match.object_like({"Type": "forward", "Order": 2}),
]


def _template(stage: PipelineStage) -> Template:
    return Template.from_stack(stage.serving)


def test_the_entry_is_an_internal_load_balancer_that_signs_in_every_request_over_tls(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"Scheme": "internal", "Type": "application"},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {
            "Port": 443,
            "Protocol": "HTTPS",
            "SslPolicy": Match.string_like_regexp("TLS13"),
            "Certificates": [{"CertificateArn": Match.any_value()}],
            "DefaultActions": SIGN_IN_THEN_FORWARD,
        },
    )
    # One listener, and it is the HTTPS one: no plain-HTTP way in.
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 1)
    template.has_resource_properties(
        "AWS::CertificateManager::Certificate",
        {"DomainName": PROD.dashboard_domain, "ValidationMethod": "DNS"},
    )


def test_staff_are_added_by_an_administrator_and_sign_in_with_mfa(prod: PipelineStage) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::Cognito::UserPool",
        {
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "MfaConfiguration": "ON",
            "UserPoolAddOns": {"AdvancedSecurityMode": "ENFORCED"},
        },
    )
    template.has_resource_properties(
        "AWS::Cognito::UserPoolClient",
        {
            "GenerateSecret": True,
            "AllowedOAuthFlows": ["code"],
            "CallbackURLs": [f"https://{PROD.dashboard_domain}/oauth2/idpresponse"],
        },
    )


def test_the_dashboards_run_one_fargate_task_per_az_privately_with_health_checks_and_logs(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "LaunchType": "FARGATE",
            "DesiredCount": PROD.dashboard_tasks,
            "DeploymentConfiguration": Match.object_like(
                {"DeploymentCircuitBreaker": {"Enable": True, "Rollback": True}}
            ),
            "NetworkConfiguration": {
                "AwsvpcConfiguration": Match.object_like({"AssignPublicIp": "DISABLED"})
            },
        },
    )
    assert PROD.dashboard_tasks >= 2
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {
            "Port": 8501,
            "HealthCheckPath": HEALTH_PATH,
            "TargetGroupAttributes": Match.array_with(
                [{"Key": "stickiness.enabled", "Value": "true"}]
            ),
        },
    )
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like(
                    {
                        "LogConfiguration": Match.object_like({"LogDriver": "awslogs"}),
                        "HealthCheck": Match.object_like(
                            {"Command": Match.array_with([Match.string_like_regexp(HEALTH_PATH)])}
                        ),
                    }
                )
            ]
        },
    )


def test_the_tasks_read_redshift_as_their_role_with_the_analyst_and_operations_db_roles(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": Match.object_like(
                {
                    "Statement": [
                        Match.object_like({"Principal": {"Service": "ecs-tasks.amazonaws.com"}})
                    ]
                }
            ),
            "Tags": Match.array_with(
                [{"Key": "RedshiftDbRoles", "Value": ":".join(DASHBOARD_DB_ROLES)}]
            ),
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Action": "redshift-serverless:GetCredentials", "Effect": "Allow"}
                        )
                    ]
                )
            }
        },
    )
    # Credentials come from IAM at each query: no secret is handed to the container.
    environment = Capture()
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ContainerDefinitions": [Match.object_like({"Environment": environment})]},
    )
    names = {item["Name"] for item in environment.as_array()}
    assert {"ACCFB_ENVIRONMENT", "ACCFB_DBT_TARGET", "ACCFB_REDSHIFT_WORKGROUP"} <= names
    assert not any(re.search("PASSWORD|SECRET|KEY", name) for name in names)
    definitions = template.find_resources("AWS::ECS::TaskDefinition")
    for definition in definitions.values():
        for container in definition["Properties"]["ContainerDefinitions"]:
            assert "Secrets" not in container


def test_the_lineage_site_is_a_private_bucket_read_through_the_same_sign_in(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    buckets = template.find_resources("AWS::S3::Bucket").values()
    assert len(buckets) == 2  # the site and the access logs
    for bucket in buckets:
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Effect": "Allow",
                                "Condition": {
                                    "StringEquals": {"aws:SourceVpce": Match.any_value()}
                                },
                            }
                        )
                    ]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Interface", "PrivateDnsEnabled": False},
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::ListenerRule",
        {
            "Conditions": [
                {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/lineage/*"]}}
            ],
            "Actions": SIGN_IN_THEN_FORWARD,
            "Transforms": [Match.object_like({"Type": "host-header-rewrite"})],
        },
    )
    template.has_resource_properties(
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        {"TargetType": "ip", "Protocol": "HTTPS", "Port": 443},
    )


def _alarm_names(template: Template, kind: str, key: str) -> dict[str, dict[str, object]]:
    return {
        props["Properties"][key].removeprefix(f"{PROD.prefix}-"): props["Properties"]
        for props in template.find_resources(kind).values()
    }


def test_dashboards_down_pages_when_no_task_is_healthy(prod: PipelineStage) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"{PROD.prefix}-dashboards-down",
            "MetricName": "HealthyHostCount",
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1,
            "TreatMissingData": "breaching",
            "AlarmActions": [Match.any_value()],
        },
    )


def test_burn_rate_alarms_fire_when_both_windows_burn_and_page_or_ticket(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    composites = _alarm_names(template, "AWS::CloudWatch::CompositeAlarm", "AlarmName")
    windows = _alarm_names(template, "AWS::CloudWatch::Alarm", "AlarmName")
    topics = {
        severity: prod.monitoring.resolve(topic.topic_arn)
        for severity, topic in prod.monitoring.topics.items()
    }
    assert set(composites) == {alert.alert_id for alert in BURN_RATE_ALERTS}
    for alert in BURN_RATE_ALERTS:
        rule = str(composites[alert.alert_id]["AlarmRule"])
        assert rule.count("ALARM(") == 2 and " AND " in rule
        actions = str(composites[alert.alert_id]["AlarmActions"])
        other = "Ticket" if alert.severity == "page" else "Page"
        assert f"{alert.severity.title()}Topic" in actions and f"{other}Topic" not in actions
        for minutes in (alert.long_minutes, alert.short_minutes):
            window = windows[f"{alert.alert_id}-{minutes}m"]
            assert window["MetricName"] == "GoodMinute"
            assert window["Period"] == 60
            assert window["EvaluationPeriods"] == minutes
            assert window["DatapointsToAlarm"] == alert.bad_minutes_to_fire(minutes)
            assert window["TreatMissingData"] == "breaching"
            assert "AlarmActions" not in window  # the composite alone notifies
    assert set(topics) == {"page", "ticket"}


def test_every_serving_alarm_has_a_runbook_section() -> None:
    headings = set(re.findall(r"^## `?([a-z0-9-]+)`?", RUNBOOKS.read_text(), re.MULTILINE))
    assert {"dashboards-down", *(alert.alert_id for alert in BURN_RATE_ALERTS)} <= headings


def test_the_evaluator_runs_every_minute_and_may_publish_only_the_pipelines_metrics(
    prod: PipelineStage,
) -> None:
    template = _template(prod)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Handler": "ingestion.operations.availability.handler"},
    )
    template.has_resource_properties(
        "AWS::Scheduler::Schedule", {"ScheduleExpression": "rate(1 minute)"}
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


def _asset_holding(outdir: Path, relative: str, *, without: str = "") -> Path:
    found = [
        d
        for d in outdir.glob("asset.*")
        if (d / relative).is_file() and not (without and (d / without).exists())
    ]
    assert len(found) == 1, found
    return found[0]


def test_the_image_context_holds_every_copy_source_and_the_app_it_runs(
    synthesised: Synthesised,
) -> None:
    context = _asset_holding(synthesised.outdir, DOCKERFILE)
    text = (context / DOCKERFILE).read_text()
    copies = re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE)
    assert copies
    for line in copies:
        *sources, _destination = shlex.split(line)
        for source in sources:
            assert (context / source).exists(), source
    command = re.search(r"^CMD\s+(\[.*?\])", text, re.MULTILINE | re.DOTALL)
    assert command is not None
    arguments = json.loads(command.group(1).replace("\\\n", " "))
    app = next(arg for arg in arguments if arg.endswith(".py"))
    assert (context / app).is_file()
    # The context is the lock and the package only: no environment, state or tests.
    assert {p.name for p in context.iterdir()} == {"infra", "ingestion", "requirements.lock"}


def test_the_evaluator_asset_imports_its_handler_with_nothing_else_of_the_repository(
    synthesised: Synthesised,
) -> None:
    # (The image's context holds the module too, beside the lock.)
    asset = _asset_holding(
        synthesised.outdir, "ingestion/operations/availability.py", without="requirements.lock"
    )
    assert not (asset / "ingestion" / "serving").exists()
    # -I: no working directory or PYTHONPATH on the path, only the asset (and boto3, as in the
    # Lambda runtime).
    result = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {str(asset)!r}); "
            "from ingestion.operations.availability import handler; print(handler.__module__)",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_containers_environment_is_a_valid_deployed_settings(
    prod: PipelineStage, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = Capture()
    _template(prod).has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {"ContainerDefinitions": [Match.object_like({"Environment": environment})]},
    )
    for name in [n for n in os.environ if n.startswith("ACCFB_")]:
        monkeypatch.delenv(name)
    for item in environment.as_array():
        # A CloudFormation reference (the topic, the workgroup's address) stands in as a name.
        value = item["Value"] if isinstance(item["Value"], str) else "resolved-at-deploy"
        monkeypatch.setenv(item["Name"], value)
    settings = Settings.from_environment()
    assert (settings.environment.value, settings.dbt_target) == ("prod", "prod")
    assert settings.aws_endpoint_url is None

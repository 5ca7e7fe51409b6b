"""Serving: the dashboards and the dbt lineage site for staff, and the 99.95% objective measured.

Staff open one name (``config.dashboard_domain``) over the Food Bank's VPN: an internal
Application Load Balancer in the VPC, TLS with an ACM certificate, and every request signed in
through a Cognito user pool (MFA, no self sign-up) by the listener before it reaches anything.

- **Dashboards**: the Streamlit app (infra/dashboards/Dockerfile) on ECS Fargate, one task per
  AZ. Why not App Runner: Streamlit talks to the browser over a WebSocket, which App Runner does
  not carry, and App Runner has no sign-in action in front. The tasks read Redshift as their own
  IAM role, whose ``RedshiftDbRoles`` tag gives the database user the analysts' role (``marts``)
  and the operations role (the ops tables the operations page reads); no password anywhere.
- **Lineage site**: dbt docs of the deployed project in a private bucket, served under
  ``/lineage/`` by the same listener, sign-in first, through an S3 interface endpoint: the
  bucket answers only requests that come through that endpoint.
- **Availability objective**: the evaluator Lambda (``ingestion/operations/availability.py``)
  judges every minute from the refresh's heartbeat and freshness metrics and publishes
  ``GoodMinute``, ``AvailabilityPercent`` and ``ErrorBudgetRemainingMinutes``; multi-window
  burn-rate alarms page or ticket through the Monitoring stack's topics (docs/runbooks.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    IgnoreMode,
    RemovalPolicy,
    Stack,
    Tags,
)
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_elasticloadbalancingv2_actions as elbv2_actions
from aws_cdk import aws_elasticloadbalancingv2_targets as elbv2_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.settings import METRIC_NAMESPACE, EnvironmentConfig
from infra.stacks._common import (
    LAMBDA_BASIC_EXECUTION,
    LAMBDA_RUNTIME,
    LAMBDA_RUNTIME_REASON,
    access_log_bucket,
    acknowledge,
    acknowledge_all,
    bucket_name,
    data_removal_policy,
    nag_arn,
    wildcard_resource,
)
from infra.stacks.monitoring import RUNBOOK, Severity
from ingestion.operations.availability import BURN_RATE_ALERTS, BurnRateAlert

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "infra/dashboards/Dockerfile"
# The image's build context: the lock and the pipeline package, nothing else of the repository
# (tests/infra/test_serving.py builds the context and checks every COPY source is in it).
IMAGE_ASSET_EXCLUDE = [
    "*",
    ".*",
    "!requirements.lock",
    "!ingestion",
    "!ingestion/**",
    "!infra",
    "!infra/dashboards",
    "!infra/dashboards/Dockerfile",
    "**/__pycache__",
    "**/*.pyc",
]
# The evaluator's code: the availability module and the standard-library modules it imports.
EVALUATOR_ASSET_EXCLUDE = [
    "*",
    ".*",
    "!ingestion",
    "!ingestion/__init__.py",
    "!ingestion/config",
    "!ingestion/config/__init__.py",
    "!ingestion/config/clients.py",
    "!ingestion/config/constants.py",
    "!ingestion/operations",
    "!ingestion/operations/__init__.py",
    "!ingestion/operations/availability.py",
    "**/__pycache__",
]
DASHBOARD_PORT = 8501
HEALTH_PATH = "/_stcore/health"
LINEAGE_PREFIX = "lineage"
# Database roles the dashboards' IAM role is given at sign-in (Redshift Serverless reads the
# tag): the analysts' (select on marts) and the operations page's (select on the ops tables it
# shows). Created and granted by dbt: macros/grants/analyst_access.sql.
DASHBOARD_DB_ROLES = ("accfb_analyst", "accfb_operations")


class ServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        workgroup_arn: str,
        workgroup_name: str,
        workgroup_host: str,
        database: str,
        topics: Mapping[Severity, sns.ITopic],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = data_removal_policy(config)
        self.domain = config.dashboard_domain
        access_logs = access_log_bucket(self, expire_days=400, removal=removal)
        subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        self.sign_in = _StaffSignIn(self, "SignIn", config=config, domain=self.domain)

        self.alb_security_group = ec2.SecurityGroup(
            self,
            "LoadBalancerSg",
            vpc=vpc,
            description="Dashboards entry: HTTPS from the VPC (staff arrive over the VPN)",
            # Out to the sign-in's token endpoint (Cognito, over the NAT gateways), the tasks and
            # the S3 endpoint: the listener's authenticate action calls Cognito itself.
            allow_all_outbound=True,
        )
        self.alb_security_group.add_ingress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(443), "Staff over the VPN"
        )
        acknowledge(
            self.alb_security_group,
            "AwsSolutions-EC23",
            "Ingress is 443 from the VPC's own CIDR (the VPN's clients are translated into it), "
            "which cdk-nag cannot evaluate because the CIDR is a CloudFormation reference.",
        )
        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=subnets,
            security_group=self.alb_security_group,
            drop_invalid_header_fields=True,
            deletion_protection=config.retain_data,
        )
        self.load_balancer.log_access_logs(access_logs, prefix="load-balancer")
        self.certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=self.domain,
            # The record goes in the Food Bank's DNS, where the name lives (operating manual).
            validation=acm.CertificateValidation.from_dns(),
        )

        self.dashboards = _Dashboards(
            self,
            "Dashboards",
            config=config,
            vpc=vpc,
            subnets=subnets,
            load_balancer_security_group=self.alb_security_group,
            workgroup_arn=workgroup_arn,
            workgroup_name=workgroup_name,
            workgroup_host=workgroup_host,
            database=database,
            alert_topic=topics[Severity.TICKET],
        )
        self.listener = self.load_balancer.add_listener(
            "Https",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[elbv2.ListenerCertificate.from_certificate_manager(self.certificate)],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=False,
            default_action=self.sign_in.then(
                elbv2.ListenerAction.forward([self.dashboards.target_group])
            ),
        )
        self.lineage = _LineageSite(
            self,
            "Lineage",
            config=config,
            vpc=vpc,
            listener=self.listener,
            load_balancer_security_group=self.alb_security_group,
            sign_in=self.sign_in,
            access_logs=access_logs,
            removal=removal,
        )
        self.alarms = _alarms(self, config, self.dashboards, topics)
        self.availability = _AvailabilityObjective(
            self, "Availability", config=config, topics=topics
        )
        self.alarms.update(self.availability.alarms)

        CfnOutput(
            self,
            "LoadBalancerDnsName",
            value=self.load_balancer.load_balancer_dns_name,
            description=f"CNAME target of {self.domain} in the Food Bank's DNS",
        )
        CfnOutput(self, "LineageBucket", value=self.lineage.bucket.bucket_name)
        CfnOutput(self, "StaffUserPoolId", value=self.sign_in.user_pool.user_pool_id)


class _StaffSignIn(Construct):
    """The food bank's staff accounts: added by an administrator (no self sign-up), MFA by an
    authenticator app, threat protection enforced; the listener signs every request in."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, domain: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = cognito.UserPool(
            self,
            "Staff",
            user_pool_name=f"{config.prefix}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_digits=True,
                require_lowercase=True,
                require_uppercase=True,
                require_symbols=True,
            ),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Compromised-credential and risky sign-in checks, enforced: the Plus feature plan.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            removal_policy=data_removal_policy(config),
        )
        self.domain = self.user_pool.add_domain(
            "Domain",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=f"{config.prefix}-staff"),
        )
        self.client = self.user_pool.add_client(
            "LoadBalancer",
            user_pool_client_name=f"{config.prefix}-dashboards",
            # The load balancer is a confidential client: Cognito generates its secret and hands
            # it to the load balancer; it never appears in the template or the repository.
            generate_secret=True,
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=[f"https://{domain}/oauth2/idpresponse"],
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
        )

    def then(self, action: elbv2.ListenerAction) -> elbv2.ListenerAction:
        """Sign in first (a working day's session), then ``action``."""
        return elbv2_actions.AuthenticateCognitoAction(
            user_pool=self.user_pool,
            user_pool_client=self.client,
            user_pool_domain=self.domain,
            session_timeout=Duration.hours(8),
            next=action,
        )


class _Dashboards(Construct):
    """The Streamlit app on Fargate behind the load balancer, reading Redshift as its IAM role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        load_balancer_security_group: ec2.ISecurityGroup,
        workgroup_arn: str,
        workgroup_name: str,
        workgroup_host: str,
        database: str,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, cluster_name=f"{config.prefix}-serving")
        acknowledge(
            cluster,
            "AwsSolutions-ECS4",
            "The service's health is the target group's (HealthyHostCount alarm, "
            "dashboards-down) and ECS's own CPU and memory metrics; Container Insights would "
            "add per-task metrics at a monthly cost that nothing reads.",
        )
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.dashboard_cpu,
            memory_limit_mib=config.dashboard_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        # The database user Redshift makes for this role gets these roles at sign-in; the
        # role may fetch credentials for this workgroup only.
        Tags.of(task.task_role).add("RedshiftDbRoles", ":".join(DASHBOARD_DB_ROLES))
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["redshift-serverless:GetCredentials"], resources=[workgroup_arn]
            )
        )
        # Redshift Serverless reads the RedshiftDbRoles tag of the caller through these calls.
        task.task_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["tag:GetResources", "tag:GetTagKeys"], resources=["*"])
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        task.add_container(
            "Streamlit",
            image=ecs.ContainerImage.from_asset(
                str(REPO_ROOT),
                file=DOCKERFILE,
                exclude=IMAGE_ASSET_EXCLUDE,
                ignore_mode=IgnoreMode.GLOB,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            port_mappings=[ecs.PortMapping(container_port=DASHBOARD_PORT)],
            # Names and addresses only; credentials come from the task role at each query.
            environment={
                "ACCFB_ENVIRONMENT": config.name,
                "ACCFB_DBT_TARGET": config.name,
                "ACCFB_AWS_REGION": config.region,
                "ACCFB_REDSHIFT_WORKGROUP": workgroup_name,
                "ACCFB_REDSHIFT_HOST": workgroup_host,
                "ACCFB_REDSHIFT_DATABASE": database,
                "ACCFB_ALERT_TOPIC_ARN": alert_topic.topic_arn,
                "ACCFB_STATE_DIR": "/tmp/accfb",  # noqa: S108  (the task's scratch disk)
            },
            readonly_root_filesystem=False,
            logging=ecs.LogDrivers.aws_logs(stream_prefix="dashboards", log_group=self.log_group),
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    "import urllib.request; urllib.request.urlopen("
                    f"'http://127.0.0.1:{DASHBOARD_PORT}{HEALTH_PATH}', timeout=3)",
                ],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
        )
        acknowledge(
            task,
            "AwsSolutions-ECS2",
            "The environment holds names and addresses (environment, workgroup, database, "
            "topic), never a secret: the task role fetches Redshift credentials per query.",
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "TaskSg",
            vpc=vpc,
            description="Dashboards tasks: the load balancer only",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(
            load_balancer_security_group, ec2.Port.tcp(DASHBOARD_PORT), "From the load balancer"
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=config.dashboard_tasks,
            vpc_subnets=subnets,
            security_groups=[self.security_group],
            assign_public_ip=False,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(90),
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=DASHBOARD_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[self.service],
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                healthy_http_codes="200",
                interval=Duration.seconds(15),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
            # A Streamlit session lives in one task: keep a browser on the task it started on.
            stickiness_cookie_duration=Duration.hours(8),
            deregistration_delay=Duration.seconds(30),
        )
        acknowledge_all(
            task.obtain_execution_role(),
            "CDK's execution-role grants for pulling the image asset and writing the task's "
            "log group: ecr:GetAuthorizationToken has no resource.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        acknowledge(
            task.task_role,
            "AwsSolutions-IAM5[Resource::*]",
            "tag:GetResources and tag:GetTagKeys have no resource-level permissions; Redshift "
            "Serverless needs them to read the role's RedshiftDbRoles tag at sign-in.",
        )


class _LineageSite(Construct):
    """dbt docs in a private bucket, behind the listener's sign-in, through an S3 interface
    endpoint: the bucket policy lets objects under lineage/ be read only through it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        listener: elbv2.ApplicationListener,
        load_balancer_security_group: ec2.ISecurityGroup,
        sign_in: _StaffSignIn,
        access_logs: s3.IBucket,
        removal: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        # SSE-S3, not KMS: the load balancer's requests are unsigned, and S3 decrypts KMS
        # objects only for a signed caller. What is here is the project's documentation.
        self.bucket = s3.Bucket(
            self,
            "Site",
            bucket_name=bucket_name(config, "lineage"),
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="lineage/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
            removal_policy=removal,
        )
        endpoint_sg = ec2.SecurityGroup(
            self,
            "EndpointSg",
            vpc=vpc,
            description="S3 endpoint of the lineage site: the load balancer only",
            allow_all_outbound=False,
        )
        endpoint_sg.add_ingress_rule(
            load_balancer_security_group, ec2.Port.tcp(443), "From the load balancer"
        )
        # Two AZs, as the load balancer's fail-over needs; the name is not resolved (no
        # private DNS), the load balancer sends to the endpoint's addresses.
        endpoint_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS,
            availability_zones=list(config.availability_zones[:2]),
        )
        self.endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "S3Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.S3,
            private_dns_enabled=False,
            subnets=endpoint_subnets,
            security_groups=[endpoint_sg],
            open=False,
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=["s3:GetObject"],
                resources=[self.bucket.arn_for_objects(f"{LINEAGE_PREFIX}/*")],
                conditions={"StringEquals": {"aws:SourceVpce": self.endpoint.vpc_endpoint_id}},
            )
        )
        addresses = cr.AwsCustomResource(
            self,
            "EndpointAddresses",
            on_update=cr.AwsSdkCall(
                service="EC2",
                action="describeNetworkInterfaces",
                parameters={
                    "NetworkInterfaceIds": self.endpoint.vpc_endpoint_network_interface_ids
                },
                physical_resource_id=cr.PhysicalResourceId.of(self.endpoint.vpc_endpoint_id),
                output_paths=[f"NetworkInterfaces.{i}.PrivateIpAddress" for i in range(2)],
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=["ec2:DescribeNetworkInterfaces"], resources=["*"])]
            ),
            install_latest_aws_sdk=False,
        )
        acknowledge(
            addresses,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeNetworkInterfaces has no resource-level permissions; the call reads "
            "the endpoint's own two interfaces.",
        )
        provider = Stack.of(self).node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        acknowledge(
            provider,
            LAMBDA_BASIC_EXECUTION,
            "CDK's custom-resource provider: the managed policy only grants writing its own logs.",
        )
        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            target_type=elbv2.TargetType.IP,
            targets=[
                elbv2_targets.IpTarget(
                    addresses.get_response_field(f"NetworkInterfaces.{i}.PrivateIpAddress"), 443
                )
                for i in range(2)
            ],
            # A health check cannot name the bucket (S3 answers 400 or 403 for a bare
            # address); any answer over TLS means the endpoint is up.
            health_check=elbv2.HealthCheck(
                path="/", protocol=elbv2.Protocol.HTTPS, healthy_http_codes="200-499"
            ),
        )
        # /lineage and /lineage/ open the site's page; no data, so no sign-in before it.
        listener.add_action(
            "LineageIndex",
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns(["/lineage", "/lineage/"])],
            action=elbv2.ListenerAction.redirect(
                path=f"/{LINEAGE_PREFIX}/index.html", permanent=False
            ),
        )
        listener.add_action(
            "LineageSite",
            priority=20,
            conditions=[elbv2.ListenerCondition.path_patterns([f"/{LINEAGE_PREFIX}/*"])],
            action=sign_in.then(elbv2.ListenerAction.forward([self.target_group])),
        )
        # S3 finds the bucket by the Host header: the rule names it, whatever name staff used.
        rule = listener.node.find_child("LineageSiteRule").node.default_child
        assert isinstance(rule, elbv2.CfnListenerRule)  # noqa: S101  (narrows for mypy)
        rule.add_property_override(
            "Transforms",
            [
                {
                    "Type": "host-header-rewrite",
                    "HostHeaderRewriteConfig": {
                        "Rewrites": [
                            {
                                "Regex": "^.*$",
                                "Replace": f"{self.bucket.bucket_name}.s3.{config.region}"
                                ".amazonaws.com",
                            }
                        ]
                    },
                }
            ],
        )


def _alarms(
    scope: Construct,
    config: EnvironmentConfig,
    dashboards: _Dashboards,
    topics: Mapping[Severity, sns.ITopic],
) -> dict[str, cloudwatch.IAlarm]:
    """The dashboards are down when no task answers the load balancer's health check."""
    down = cloudwatch.Alarm(
        scope,
        "DashboardsDownAlarm",
        alarm_name=f"{config.prefix}-dashboards-down",
        alarm_description=(
            f"[{Severity.PAGE.value}] No dashboard task is healthy behind the load balancer. "
            f"Runbook: {RUNBOOK}#dashboards-down"
        ),
        metric=dashboards.target_group.metrics.healthy_host_count(
            statistic="Minimum", period=Duration.minutes(1)
        ),
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluation_periods=3,
        datapoints_to_alarm=3,
        # No datapoint means no target reported at all: as down as zero healthy.
        treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
    )
    action = actions.SnsAction(topics[Severity.PAGE])
    down.add_alarm_action(action)
    down.add_ok_action(action)
    return {"dashboards-down": down}


class _AvailabilityObjective(Construct):
    """The evaluator, every minute, and one composite alarm per burn-rate alert: the long and
    the short window both burning (``ingestion.operations.availability.BURN_RATE_ALERTS``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        topics: Mapping[Severity, sns.ITopic],
    ) -> None:
        super().__init__(scope, construct_id)
        self.evaluator = lambda_.Function(
            self,
            "Evaluator",
            function_name=f"{config.prefix}-availability",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="ingestion.operations.availability.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=EVALUATOR_ASSET_EXCLUDE),
            memory_size=128,
            timeout=Duration.seconds(30),
            log_group=logs.LogGroup(
                self,
                "EvaluatorLogs",
                retention=logs.RetentionDays.ONE_MONTH,
                removal_policy=RemovalPolicy.DESTROY,
            ),
            environment={"ACCFB_ENVIRONMENT": config.name, "ACCFB_AWS_REGION": config.region},
        )
        # Neither call has a resource; the namespace condition bounds what it may publish.
        self.evaluator.add_to_role_policy(
            iam.PolicyStatement(actions=["cloudwatch:GetMetricData"], resources=["*"])
        )
        self.evaluator.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )
        assert self.evaluator.role is not None  # noqa: S101  (narrows for mypy)
        acknowledge_all(
            self.evaluator.role,
            "GetMetricData and PutMetricData have no resource-level permissions; PutMetricData "
            "is limited to the pipeline's namespace by condition. The managed policy only "
            "grants writing the function's own logs.",
            "AwsSolutions-IAM5[Resource::*]",
            LAMBDA_BASIC_EXECUTION,
        )
        scheduler.Schedule(
            self,
            "EveryMinute",
            schedule_name=f"{config.prefix}-availability",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(1)),
            target=scheduler_targets.LambdaInvoke(
                self.evaluator, retry_attempts=0, max_event_age=Duration.minutes(1)
            ),
            description="Judge the minute two minutes back against the availability objective",
        )
        acknowledge(self.evaluator, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
        acknowledge(
            Stack.of(self),
            wildcard_resource(f"{nag_arn(self.evaluator)}:*"),
            "The scheduler's role may invoke any version of the evaluator function, and only it.",
        )

        good_minute = cloudwatch.Metric(
            namespace=METRIC_NAMESPACE,
            metric_name="GoodMinute",
            dimensions_map={"Environment": config.name},
            statistic="Minimum",
            period=Duration.minutes(1),
        )
        self.alarms: dict[str, cloudwatch.IAlarm] = {}
        for alert in BURN_RATE_ALERTS:
            windows = [
                self._window(config, alert, good_minute, minutes)
                for minutes in (alert.long_minutes, alert.short_minutes)
            ]
            composite = cloudwatch.CompositeAlarm(
                self,
                _construct_id(alert.alert_id),
                composite_alarm_name=f"{config.prefix}-{alert.alert_id}",
                alarm_description=(
                    f"[{alert.severity}] The 99.95% availability budget is burning "
                    f"{alert.burn_rate:g}x too fast over {alert.long_minutes} and "
                    f"{alert.short_minutes} minutes. Runbook: {RUNBOOK}#{alert.alert_id}"
                ),
                alarm_rule=cloudwatch.AlarmRule.all_of(
                    *(
                        cloudwatch.AlarmRule.from_alarm(window, cloudwatch.AlarmState.ALARM)
                        for window in windows
                    )
                ),
            )
            action = actions.SnsAction(topics[Severity(alert.severity)])
            composite.add_alarm_action(action)
            composite.add_ok_action(action)
            self.alarms[alert.alert_id] = composite

    def _window(
        self,
        config: EnvironmentConfig,
        alert: BurnRateAlert,
        good_minute: cloudwatch.Metric,
        minutes: int,
    ) -> cloudwatch.Alarm:
        """A window of the alert: enough bad minutes among its last ``minutes`` (a minute the
        evaluator did not judge counts as bad, so a stopped evaluator cannot hide an outage)."""
        return cloudwatch.Alarm(
            self,
            f"{_construct_id(alert.alert_id)}{minutes}m",
            alarm_name=f"{config.prefix}-{alert.alert_id}-{minutes}m",
            alarm_description=(
                f"Window of {alert.alert_id} (no action of its own): "
                f"{alert.bad_minutes_to_fire(minutes)} or more bad minutes in {minutes}. "
                f"Runbook: {RUNBOOK}#{alert.alert_id}"
            ),
            metric=good_minute,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=minutes,
            datapoints_to_alarm=alert.bad_minutes_to_fire(minutes),
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )


def _construct_id(alert_id: str) -> str:
    return "".join(part.title() for part in alert_id.split("-")) + "Alarm"

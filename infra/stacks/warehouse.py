"""Warehouse: Redshift Serverless reading the stream directly (streaming ingestion) and S3 (COPY).

The namespace (storage, encrypted with its own key, audit logs exported) and the workgroup
(compute: base and max RPU, private subnets in three AZs, enhanced VPC routing) are separate
resources; the streaming materialized view itself is created by dbt (infra/sql has the DDL).

The keyed hash of donor emails (``f_accfb_pii_hmac``, ingestion/pii/) is a Lambda UDF of this
warehouse: the key's secret, the function that alone reads it, and the role the namespace
assumes to invoke that function live here. dbt declares the external function with the names
this stack exports, so the key never enters SQL, the workers or their logs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    CfnOutput,
    Duration,
    RemovalPolicy,
    Stack,
)
from aws_cdk import (
    aws_ec2 as ec2,
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
    aws_logs as logs,
)
from aws_cdk import (
    aws_redshiftserverless as redshift,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_ssm as ssm,
)
from aws_cdk import (
    custom_resources as cr,
)
from constructs import Construct

from infra.settings import EnvironmentConfig
from infra.stacks._common import (
    KMS_GRANT_WILDCARDS,
    LAMBDA_BASIC_EXECUTION,
    LAMBDA_RUNTIME,
    LAMBDA_RUNTIME_REASON,
    SharedBucket,
    acknowledge,
    acknowledge_all,
    data_removal_policy,
    nag_bucket_objects,
    wildcard_resource,
)

STREAMING_SQL = Path(__file__).resolve().parent.parent / "sql" / "streaming_ingestion.sql"
DATABASE = "accfb"
PORT = 5439
# What COPY reads from the raw bucket: archived windows (ingestion/archive/archiver.py), batch
# exports (ingestion/batch/loads.py) and the manifests that name exactly the objects of one load.
RAW_BUCKET_COPY_PREFIXES = ("raw/*", "landing/*", "manifests/*")
REPO_ROOT = Path(__file__).resolve().parents[2]
# The UDF handler uses the standard library, boto3 and the one keyed hash: the asset is those
# files (tests/infra/test_lambda_packaging.py imports the handler from exactly these).
PII_HASH_ASSET_EXCLUDE = [
    "*",
    ".*",
    "!ingestion",
    "!ingestion/__init__.py",
    "!ingestion/pii",
    "!ingestion/pii/__init__.py",
    "!ingestion/pii/keyed_hash.py",
    "!ingestion/pii/redshift_udf.py",
    "**/__pycache__",
]


class WarehouseStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        stream: kinesis.IStream,
        raw_archive: SharedBucket,
        audit_store: SharedBucket,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = data_removal_policy(config)
        key = kms.Key(
            self,
            "WarehouseKey",
            alias=f"alias/{config.prefix}-warehouse",
            description="Encrypts the Redshift namespace and its admin secret",
            enable_key_rotation=True,
            removal_policy=removal,
        )

        # One role for the warehouse's own reads and writes: the stream (streaming ingestion),
        # the raw bucket (COPY of archived windows, batch exports and the manifests naming them)
        # and the audit bucket (UNLOAD of finance tables).
        self.role = iam.Role(
            self,
            "StreamingIngestionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            description="Redshift: read the event stream and raw archive, unload audit tables",
        )
        stream.grant_read(self.role)
        raw_bucket = raw_archive.import_into(self, "RawArchive")
        for prefix in RAW_BUCKET_COPY_PREFIXES:
            raw_bucket.grant_read(self.role, prefix)
        audit_store.import_into(self, "AuditStore").grant_put(self.role, "finance/*")
        acknowledge_all(
            self.role,
            "COPY reads any object under raw/, landing/ and manifests/ (backfills choose the "
            "window at run time, exports arrive under generated names) and "
            "UNLOAD writes generated file names under finance/; actions are CDK's read and put "
            "grants, KMS limited to the two buckets' keys and the stream's key.",
            *KMS_GRANT_WILDCARDS,
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            *(
                wildcard_resource(nag_bucket_objects(config, "raw", prefix))
                for prefix in RAW_BUCKET_COPY_PREFIXES
            ),
            wildcard_resource(nag_bucket_objects(config, "audit", "finance/*")),
        )

        self._pii_hash(config, key, removal)

        self.namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=config.prefix,
            db_name=DATABASE,
            admin_username="accfb_admin",
            # Redshift creates and rotates the admin password in Secrets Manager: none in code.
            manage_admin_password=True,
            admin_password_secret_kms_key_id=key.key_arn,
            kms_key_id=key.key_arn,
            iam_roles=[self.role.role_arn, self.pii_hash_role.role_arn],
            default_iam_role_arn=self.role.role_arn,
            log_exports=["userlog", "connectionlog", "useractivitylog"],
        )
        self.namespace.apply_removal_policy(removal)

        self.security_group = ec2.SecurityGroup(
            self,
            "WorkgroupSg",
            vpc=vpc,
            description="Redshift Serverless workgroup: SQL from inside the VPC only",
            allow_all_outbound=True,
        )
        self.security_group.add_ingress_rule(
            ec2.Peer.ipv4(vpc.vpc_cidr_block), ec2.Port.tcp(PORT), "Airflow and analysts via VPN"
        )
        acknowledge(
            self.security_group,
            "AwsSolutions-EC23",
            "Ingress is port 5439 from the VPC's own CIDR, which cdk-nag cannot evaluate because "
            "the CIDR is a CloudFormation reference.",
        )
        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=config.prefix,
            namespace_name=config.prefix,
            base_capacity=config.redshift_base_rpu,
            # The ceiling of autoscaling in an emergency, and so the ceiling of the bill.
            max_capacity=config.redshift_max_rpu,
            enhanced_vpc_routing=True,
            publicly_accessible=False,
            port=PORT,
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[self.security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="require_ssl", parameter_value="true"
                ),
                # A runaway ad-hoc query must not hold the RPUs the minute refresh needs.
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="max_query_execution_time", parameter_value="1800"
                ),
            ],
        )
        # CloudFormation does not infer this from the name: without it the workgroup can be
        # created before its namespace exists.
        self.workgroup.node.add_dependency(self.namespace)
        self.workgroup_name = config.prefix
        self.database = DATABASE
        self.workgroup_arn = self.workgroup.attr_workgroup_workgroup_arn

        self._usage_limits(config)

        ssm.StringParameter(
            self,
            "StreamingRoleArnParam",
            parameter_name=f"/accfb/{config.name}/redshift/streaming-role-arn",
            string_value=self.role.role_arn,
            description="dbt var kinesis_iam_role (CREATE EXTERNAL SCHEMA FROM KINESIS) and "
            "ACCFB_REDSHIFT_COPY_ROLE_ARN (COPY of backfills and batch exports)",
        )
        CfnOutput(self, "StreamingIngestionRoleArn", value=self.role.role_arn)
        CfnOutput(self, "WorkgroupName", value=self.workgroup_name)
        # dbt vars pii_hash_lambda / pii_hash_lambda_role (macros/pii/pii_hash.sql).
        CfnOutput(self, "PiiHashLambda", value=self.pii_hash_fn.function_name)
        CfnOutput(self, "PiiHashLambdaRoleArn", value=self.pii_hash_role.role_arn)

    def _pii_hash(self, config: EnvironmentConfig, key: kms.IKey, removal: RemovalPolicy) -> None:
        """The key of the donor-email hash, the Lambda UDF that alone reads it, and the role
        Redshift assumes to call that Lambda (and nothing else)."""
        # Not under airflow/: MWAA's secrets backend and its execution role read that prefix.
        self.pii_hash_key = secretsmanager.Secret(
            self,
            "PiiHashKey",
            secret_name=f"{config.prefix}/warehouse/pii-hash-key",
            description="Key of the donor-email HMAC (f_accfb_pii_hmac); read by its Lambda only",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=48, exclude_punctuation=True
            ),
            # Losing the key orphans every stored hash: kept even when the stack goes.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.pii_hash_key,
            "AwsSolutions-SMG4",
            "A new key changes every stored donor hash: it is rotated by hand with "
            "`accfb rehash-pii` (docs/runbooks.md), never on a schedule.",
        )
        self.pii_hash_fn = lambda_.Function(
            self,
            "PiiHashFn",
            function_name=f"{config.prefix}-pii-hmac",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="ingestion.pii.redshift_udf.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=PII_HASH_ASSET_EXCLUDE),
            memory_size=256,
            timeout=Duration.seconds(30),
            environment={"PII_HASH_KEY_SECRET_ARN": self.pii_hash_key.secret_arn},
            log_group=logs.LogGroup(
                self,
                "PiiHashLogs",
                retention=logs.RetentionDays.THREE_MONTHS,
                removal_policy=removal,
            ),
        )
        self.pii_hash_key.grant_read(self.pii_hash_fn)
        acknowledge(self.pii_hash_fn, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
        acknowledge_all(
            self.pii_hash_fn.role or self.pii_hash_fn,
            "Basic execution only writes the function's own logs; KMS actions are CDK's grant "
            "on the warehouse key, for the key secret alone.",
            LAMBDA_BASIC_EXECUTION,
        )
        self.pii_hash_role = iam.Role(
            self,
            "PiiHashInvokeRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            description="Redshift: invoke the donor-email HMAC Lambda (f_accfb_pii_hmac), only it",
        )
        self.pii_hash_role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[self.pii_hash_fn.function_arn]
            )
        )

    def _usage_limits(self, config: EnvironmentConfig) -> None:
        """RPU-hour limits: CloudFormation has no resource for them, so an SDK call at deploy."""
        for period, amount, action in (
            ("daily", config.redshift_daily_rpu_hours_limit, "emit-metric"),
            ("monthly", config.redshift_monthly_rpu_hours_limit, "log"),
        ):
            limit = cr.AwsCustomResource(
                self,
                f"UsageLimit{period.title()}",
                on_create=cr.AwsSdkCall(
                    service="redshift-serverless",
                    action="CreateUsageLimit",
                    parameters={
                        "resourceArn": self.workgroup_arn,
                        "usageType": "serverless-compute",
                        "period": period,
                        "amount": amount,
                        # Never "deactivate": cutting the dashboards off in a disaster to save
                        # money is the wrong trade; the metric pages the budget owner instead.
                        "breachAction": action,
                    },
                    physical_resource_id=cr.PhysicalResourceId.from_response(
                        "usageLimit.usageLimitId"
                    ),
                ),
                on_update=cr.AwsSdkCall(
                    service="redshift-serverless",
                    action="UpdateUsageLimit",
                    parameters={
                        "usageLimitId": cr.PhysicalResourceIdReference(),
                        "amount": amount,
                        "breachAction": action,
                    },
                ),
                on_delete=cr.AwsSdkCall(
                    service="redshift-serverless",
                    action="DeleteUsageLimit",
                    parameters={"usageLimitId": cr.PhysicalResourceIdReference()},
                ),
                policy=cr.AwsCustomResourcePolicy.from_statements(
                    [
                        iam.PolicyStatement(
                            actions=[
                                "redshift-serverless:CreateUsageLimit",
                                "redshift-serverless:UpdateUsageLimit",
                                "redshift-serverless:DeleteUsageLimit",
                            ],
                            # Update and delete act on the limit itself, whose id is only known
                            # after creation.
                            resources=[
                                self.workgroup_arn,
                                self.format_arn(
                                    service="redshift-serverless",
                                    resource="usagelimit",
                                    resource_name="*",
                                ),
                            ],
                        )
                    ]
                ),
                install_latest_aws_sdk=False,
            )
            limit.node.add_dependency(self.workgroup)
            acknowledge(
                limit,
                wildcard_resource(
                    "arn:<AWS::Partition>:redshift-serverless:"
                    f"{config.region}:<AWS::AccountId>:usagelimit/*"
                ),
                "A usage limit's id exists only after CreateUsageLimit; update and delete are "
                "limited to usage limits of this account and region.",
            )
        # The single Lambda behind every AwsCustomResource in this stack.
        provider = self.node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        acknowledge(
            provider,
            LAMBDA_BASIC_EXECUTION,
            "CDK's custom-resource provider: the managed policy only grants writing its own logs.",
        )

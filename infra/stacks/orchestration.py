"""Orchestration: Amazon MWAA running the Cosmos DAGs (minute refresh, backfills, Soda checks).

Airflow is already the Food Bank's scheduler, so the team keeps one tool. Two schedulers and a
worker floor of one per AZ keep a lost AZ from stopping the minute refresh; connections come
from Secrets Manager (`airflow/connections/*`), and dbt reaches Redshift with IAM credentials
from the execution role, so no database password exists anywhere.

The workers learn where they are from a startup script this stack writes (``config/startup.sh``):
every ``ACCFB_*`` setting of the deployment, with the other stacks' names and addresses, so
``Settings`` never falls back to the local defaults there (and refuses to start if it would).
The pipeline's own package is deployed beside the DAGs (``dags/ingestion/``), which MWAA puts
on the import path.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import (
    ArnFormat,
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
    aws_mwaa as mwaa,
)
from aws_cdk import (
    aws_s3 as s3,
)
from aws_cdk import (
    aws_s3_deployment as s3deploy,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    custom_resources as cr,
)
from constructs import Construct

from infra.settings import METRIC_NAMESPACE, EnvironmentConfig
from infra.stacks._common import (
    KMS_GRANT_WILDCARDS,
    LAMBDA_BASIC_EXECUTION,
    SharedBucket,
    access_log_bucket,
    acknowledge,
    acknowledge_all,
    bucket_name,
    nag_arn,
    nag_bucket_objects,
    wildcard_resource,
)
from ingestion.config.constants import WAREHOUSE_POOL

MWAA_ASSETS = Path(__file__).resolve().parent.parent / "mwaa"
PACKAGE = Path(__file__).resolve().parents[2] / "ingestion"
# MWAA's Airflow home on every scheduler and worker; the DAGs bucket's dags/ is synced under it.
AIRFLOW_HOME = "/usr/local/airflow"


def startup_script(variables: Mapping[str, str]) -> str:
    """The shell script MWAA runs before each Airflow component starts: export the settings.
    Values may be CloudFormation tokens; CDK substitutes them at deploy time. No secret is
    among them: the PII hash key is read by the warehouse's Lambda UDF alone."""
    lines = [
        "#!/bin/sh",
        "# Written by infra/stacks/orchestration.py at deploy time: edit the stack, not this.",
        *(f"export {name}={shlex.quote(value)}" for name, value in sorted(variables.items())),
    ]
    return "\n".join(lines) + "\n"


class OrchestrationStack(Stack):
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
        warehouse_role_arn: str,
        pii_hash_lambda: str,
        pii_hash_role_arn: str,
        stream: kinesis.IStream,
        raw_archive: SharedBucket,
        alert_topic: sns.ITopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.environment_name = config.airflow_environment_name
        key = kms.Key(
            self,
            "AirflowKey",
            alias=f"alias/{config.prefix}-airflow",
            description="Encrypts the Airflow environment and its DAGs bucket",
            enable_key_rotation=True,
        )
        access_logs = access_log_bucket(self, expire_days=400, removal=RemovalPolicy.DESTROY)
        self.dags_bucket = s3.Bucket(
            self,
            "Dags",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # MWAA requires versioning; it also makes a bad DAG deploy a one-command rollback.
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="dags/",
            lifecycle_rules=[s3.LifecycleRule(noncurrent_version_expiration=Duration.days(90))],
        )
        # What the workers' Settings read: this deployment's names, never the local defaults.
        dags_home = f"{AIRFLOW_HOME}/dags"
        self.worker_environment: dict[str, str] = {
            "ACCFB_ENVIRONMENT": config.name,
            "ACCFB_DBT_TARGET": config.name,
            "ACCFB_AWS_REGION": config.region,
            "ACCFB_ALERT_TOPIC_ARN": alert_topic.topic_arn,
            "ACCFB_STREAM_NAME": stream.stream_name,
            "ACCFB_RAW_BUCKET": raw_archive.name,
            # The Serving stack's, by its fixed name: the lineage DAG publishes the docs there.
            "ACCFB_LINEAGE_BUCKET": bucket_name(config, "lineage"),
            "ACCFB_REDSHIFT_WORKGROUP": workgroup_name,
            "ACCFB_REDSHIFT_HOST": workgroup_host,
            "ACCFB_REDSHIFT_DATABASE": database,
            "ACCFB_REDSHIFT_KINESIS_ROLE_ARN": warehouse_role_arn,
            "ACCFB_REDSHIFT_COPY_ROLE_ARN": warehouse_role_arn,
            # dbt's on-run-start declares f_accfb_pii_hmac on this Lambda, called as this role.
            "ACCFB_PII_HASH_LAMBDA": pii_hash_lambda,
            "ACCFB_REDSHIFT_LAMBDA_ROLE_ARN": pii_hash_role_arn,
            # Workers' local disk: dbt's target and logs; the warehouse is Redshift.
            "ACCFB_STATE_DIR": "/tmp/accfb",  # noqa: S108  (scratch space on a managed worker)
            # The DAGs folder mirrors the repository (docs/architecture.md, Deploying): the dbt
            # project and soda/ at its root, the manifest CI built in its target/.
            "ACCFB_DBT_PROJECT_DIR": dags_home,
            "ACCFB_DBT_MANIFEST": f"{dags_home}/target/manifest.json",
        }
        requirements = s3deploy.BucketDeployment(
            self,
            "Requirements",
            sources=[
                s3deploy.Source.asset(str(MWAA_ASSETS), exclude=["*.py", "__pycache__"]),
                s3deploy.Source.data("startup.sh", startup_script(self.worker_environment)),
            ],
            destination_bucket=self.dags_bucket,
            destination_key_prefix="config",
            prune=False,  # never delete the DAGs CI synced beside it
            retain_on_delete=True,
        )
        # The DAGs import the pipeline's package: it ships with them, in the same deploy as the
        # settings that point it at this environment.
        package = s3deploy.BucketDeployment(
            self,
            "Package",
            sources=[
                s3deploy.Source.asset(
                    str(PACKAGE), exclude=["__pycache__", "*.pyc", "demo", "local", "edge"]
                )
            ],
            destination_bucket=self.dags_bucket,
            destination_key_prefix="dags/ingestion",
            retain_on_delete=True,
        )
        security_group = ec2.SecurityGroup(
            self, "AirflowSg", vpc=vpc, description="MWAA", allow_all_outbound=True
        )
        # MWAA's components talk to each other on any port inside their own group.
        security_group.add_ingress_rule(security_group, ec2.Port.all_traffic(), "MWAA internal")

        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"),
                iam.ServicePrincipal("airflow-env.amazonaws.com"),
            ),
            description="MWAA execution role: DAGs bucket, logs, Redshift IAM auth, backfill reads",
        )
        self.dags_bucket.grant_read(role)
        key.grant_encrypt_decrypt(role)
        alert_topic.grant_publish(role)
        # The backfill and batch-load DAGs list what they will COPY, and write the manifest
        # naming exactly those objects; the sensors watch for exports under landing/.
        raw_bucket = raw_archive.import_into(self, "RawArchive")
        raw_bucket.grant_read(role, "raw/*")
        raw_bucket.grant_read(role, "landing/*")
        raw_bucket.grant_put(role, "manifests/*")
        # The lineage DAG reads the published page's fingerprint and uploads a new one.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[f"arn:{self.partition}:s3:::{bucket_name(config, 'lineage')}/lineage/*"],
            )
        )
        environment_arn = self.format_arn(
            service="airflow", resource="environment", resource_name=self.environment_name
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[environment_arn])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[
                    self.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=f"airflow-{self.environment_name}-*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )
        # Celery's queue is created by MWAA in a service account: its name is all we know.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[f"arn:{self.partition}:sqs:{self.region}:*:airflow-celery-*"],
            )
        )
        # The refresh publishes freshness and quality metrics; PutMetricData has no resource,
        # so the namespace condition is the limit.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            )
        )
        # dbt-redshift `method: iam` with a serverless workgroup: temporary database credentials.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["redshift-serverless:GetCredentials"],
                resources=[workgroup_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[
                    self.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name="airflow/*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            )
        )

        subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
        logging = mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty
        self.airflow = mwaa.CfnEnvironment(
            self,
            "Airflow",
            name=self.environment_name,
            airflow_version=config.mwaa_airflow_version,
            environment_class=config.mwaa_environment_class,
            min_workers=config.mwaa_min_workers,
            max_workers=config.mwaa_max_workers,
            schedulers=config.mwaa_schedulers,
            execution_role_arn=role.role_arn,
            kms_key=key.key_arn,
            source_bucket_arn=self.dags_bucket.bucket_arn,
            dag_s3_path="dags",
            requirements_s3_path="config/requirements.txt",
            startup_script_s3_path="config/startup.sh",
            # MWAA takes two subnets in two AZs; it moves work to the surviving one.
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=subnets[:2], security_group_ids=[security_group.security_group_id]
            ),
            webserver_access_mode="PRIVATE_ONLY",
            airflow_configuration_options={
                "secrets.backend": (
                    "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
                ),
                "secrets.backend_kwargs": json.dumps(
                    {
                        "connections_prefix": "airflow/connections",
                        "variables_prefix": "airflow/variables",
                    }
                ),
                "core.default_task_retries": "3",
                "cosmos.enable_telemetry": "False",
            },
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                dag_processing_logs=logging(enabled=True, log_level="WARNING"),
                scheduler_logs=logging(enabled=True, log_level="WARNING"),
                task_logs=logging(enabled=True, log_level="INFO"),
                webserver_logs=logging(enabled=True, log_level="WARNING"),
                worker_logs=logging(enabled=True, log_level="WARNING"),
            ),
            weekly_maintenance_window_start="TUE:10:00",  # 03:00 Pacific, quietest hour
        )
        # MWAA validates that the requirements file exists when the environment is created.
        self.airflow.node.add_dependency(requirements)
        self.airflow.node.add_dependency(package)
        self.airflow.node.add_dependency(role)
        self._warehouse_pool()
        self._acknowledge(config, role)
        CfnOutput(self, "DagsBucket", value=self.dags_bucket.bucket_name)
        CfnOutput(self, "AirflowEnvironment", value=self.environment_name)

    def _warehouse_pool(self) -> None:
        """The one-slot pool of the warehouse's writers (dags/accfb_common.py ``one_writer``):
        a pool is Airflow data, not configuration, so it is set through MWAA's InvokeRestApi
        once the environment exists, and set again on every deploy that changes it."""
        body = {
            "name": WAREHOUSE_POOL,
            "slots": 1,
            "description": "One writer to the warehouse at a time, across DAGs",
            "include_deferred": False,
        }
        call = {"service": "MWAA", "action": "invokeRestApi"}
        pool = cr.AwsCustomResource(
            self,
            "WarehousePool",
            on_create=cr.AwsSdkCall(
                **call,
                parameters={
                    "Name": self.environment_name,
                    "Path": "/pools",
                    "Method": "POST",
                    "Body": body,
                },
                physical_resource_id=cr.PhysicalResourceId.of(WAREHOUSE_POOL),
            ),
            on_update=cr.AwsSdkCall(
                **call,
                parameters={
                    "Name": self.environment_name,
                    "Path": f"/pools/{WAREHOUSE_POOL}",
                    "Method": "PATCH",
                    "Body": body,
                },
                physical_resource_id=cr.PhysicalResourceId.of(WAREHOUSE_POOL),
            ),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["airflow:InvokeRestApi"],
                        # MWAA authorises the call as the named Airflow role of the environment.
                        resources=[
                            self.format_arn(
                                service="airflow",
                                resource="role",
                                resource_name=f"{self.environment_name}/Admin",
                            )
                        ],
                    )
                ]
            ),
            install_latest_aws_sdk=False,
        )
        pool.node.add_dependency(self.airflow)
        # The single Lambda behind every AwsCustomResource in this stack.
        provider = self.node.find_child(
            "AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", "")
        )
        acknowledge(
            provider,
            LAMBDA_BASIC_EXECUTION,
            "CDK's custom-resource provider: the managed policy only grants writing its own logs.",
        )

    def _acknowledge(self, config: EnvironmentConfig, role: iam.Role) -> None:
        dags = f"{nag_arn(self.dags_bucket)}/*"
        acknowledge_all(
            role,
            "MWAA's documented execution-role policy: its log groups, Celery queue and the "
            "airflow/* secrets have generated or per-DAG names; PutMetricData has no resource "
            "and is limited by the namespace condition; S3 and KMS are CDK read grants on the "
            "DAGs bucket and the raw bucket's raw/ and landing/, and CDK's put grant on its "
            "manifests/ (names are content hashes); the lineage site's page under lineage/ of "
            "the Serving stack's bucket.",
            *KMS_GRANT_WILDCARDS,
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            "AwsSolutions-IAM5[Resource::*]",
            wildcard_resource(dags),
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            wildcard_resource(nag_bucket_objects(config, "raw", "raw/*")),
            wildcard_resource(nag_bucket_objects(config, "raw", "landing/*")),
            wildcard_resource(nag_bucket_objects(config, "raw", "manifests/*")),
            wildcard_resource(nag_bucket_objects(config, "lineage", "lineage/*")),
            wildcard_resource(
                f"arn:<AWS::Partition>:logs:{config.region}:<AWS::AccountId>:log-group:"
                f"airflow-{self.environment_name}-*"
            ),
            wildcard_resource(
                f"arn:<AWS::Partition>:secretsmanager:{config.region}:<AWS::AccountId>:"
                "secret:airflow/*"
            ),
            wildcard_resource(f"arn:<AWS::Partition>:sqs:{config.region}:*:airflow-celery-*"),
        )
        # BucketDeployment's provider: one singleton Lambda per stack, named by CDK.
        provider = next(
            child
            for child in self.node.children
            if child.node.id.startswith("Custom::CDKBucketDeployment")
        )
        acknowledge_all(
            provider,
            "CDK's BucketDeployment provider copies the requirements asset from the CDK assets "
            "bucket into the DAGs bucket; its grants and runtime are CDK's, not ours.",
            LAMBDA_BASIC_EXECUTION,
            "AwsSolutions-L1",
            *KMS_GRANT_WILDCARDS,
            "AwsSolutions-IAM5[Action::s3:Abort*]",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
            wildcard_resource(dags),
            wildcard_resource(
                f"arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-{config.region}/*"
            ),
        )

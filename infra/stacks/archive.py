"""Archive: Firehose copies every stream record to an object-locked raw bucket, by source and hour.

This is the replay source: whatever the warehouse loses, it can re-read from here with COPY
(the backfill DAG). It is not on the freshness path (Redshift reads the stream directly), so
Firehose may buffer for minutes and write fewer, larger objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import (
    Aws,
    Duration,
    Stack,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kinesis as kinesis,
)
from aws_cdk import (
    aws_kinesisfirehose as firehose,
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
    aws_s3 as s3,
)
from constructs import Construct

from infra.settings import RETENTION, EnvironmentConfig
from infra.stacks._common import (
    KMS_GRANT_WILDCARDS,
    LAMBDA_BASIC_EXECUTION,
    LAMBDA_RUNTIME,
    LAMBDA_RUNTIME_REASON,
    SharedBucket,
    access_log_bucket,
    acknowledge,
    acknowledge_all,
    bucket_name,
    data_removal_policy,
    nag_arn,
    nag_bucket_objects,
    wildcard_resource,
)

# The transform (ingestion/archive/format.py) names each record's partition from the record and
# its arrival on the stream, the same as the local archiver, so replay reads one layout.
RAW_PREFIX = (
    "raw/source=!{partitionKeyFromLambda:source}/date=!{partitionKeyFromLambda:date}/"
    "hour=!{partitionKeyFromLambda:hour}/"
)
# Records Firehose cannot partition (not JSON, not an object) land here, by failure type.
ERROR_PREFIX = (
    "errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
)
REPO_ROOT = Path(__file__).resolve().parents[2]
# The transform is one standard-library module: the asset is that file and its packages'
# (import-free) __init__ files, nothing else; tests/archive/test_packaging.py proves it imports.
TRANSFORM_ASSET_EXCLUDE = [
    "*",
    ".*",
    "!ingestion",
    "!ingestion/__init__.py",
    "!ingestion/archive",
    "!ingestion/archive/__init__.py",
    "!ingestion/archive/format.py",
    "**/__pycache__",
]


class ArchiveStack(Stack):
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
        self.access_logs = access_log_bucket(self, expire_days=400, removal=removal)
        self.key = kms.Key(
            self,
            "RawKey",
            alias=f"alias/{config.prefix}-raw",
            description="Encrypts the raw event archive",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.bucket_name = bucket_name(config, "raw")
        self.bucket = s3.Bucket(
            self,
            "Raw",
            bucket_name=self.bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,  # one KMS call per object batch, not per PUT
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_lock_enabled=True,
            # Governance mode: immutable for everyone without s3:BypassGovernanceRetention, which
            # only the break-glass role holds, so a lawful erasure request for donor PII can
            # still be honoured (the audit bucket, with no raw PII, uses compliance mode).
            object_lock_default_retention=s3.ObjectLockRetention.governance(
                Duration.days(RETENTION.raw_days)
            ),
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="raw/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="raw-tiering-and-expiry",
                    # Replays reach back days, rarely months: cheaper tiers after a month.
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(30),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(90),
                        ),
                    ],
                    expiration=Duration.days(RETENTION.raw_days + 1),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal,
        )

        self.shared = SharedBucket(name=self.bucket_name, key=self.key, owner=self)

        log_group = logs.LogGroup(
            self,
            "FirehoseLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=removal,
        )
        log_stream = log_group.add_stream("S3Delivery")
        # Each record becomes its archive line with its stream metadata (shard, sequence number,
        # arrival, partition key), which only a transform sees: the stored object must let a
        # replay land rows indistinguishable from streamed ones.
        self.transform_fn = lambda_.Function(
            self,
            "ArchiveTransformFn",
            function_name=f"{config.prefix}-raw-archive-transform",
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler="ingestion.archive.format.handler",
            code=lambda_.Code.from_asset(str(REPO_ROOT), exclude=TRANSFORM_ASSET_EXCLUDE),
            memory_size=512,
            timeout=Duration.minutes(1),
            log_group=logs.LogGroup(
                self,
                "ArchiveTransformLogs",
                retention=logs.RetentionDays.THREE_MONTHS,
                removal_policy=removal,
            ),
        )
        role = iam.Role(
            self,
            "FirehoseRole",
            assumed_by=iam.ServicePrincipal("firehose.amazonaws.com"),
            description="Firehose: read the event stream, write the raw archive",
        )
        stream.grant_read(role)
        # Exactly what Firehose's S3 destination needs; no delete, no read of other prefixes.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[
                    f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}/raw/*",
                    f"arn:{Aws.PARTITION}:s3:::{self.bucket_name}/errors/*",
                ],
            )
        )
        self.key.grant_encrypt_decrypt(role)
        log_group.grant_write(role)
        self.transform_fn.grant_invoke(role)

        self.delivery_stream = firehose.CfnDeliveryStream(
            self,
            "RawDelivery",
            delivery_stream_name=f"{config.prefix}-raw-archive",
            delivery_stream_type="KinesisStreamAsSource",
            kinesis_stream_source_configuration=firehose.CfnDeliveryStream.KinesisStreamSourceConfigurationProperty(
                kinesis_stream_arn=stream.stream_arn, role_arn=role.role_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=self.bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=RAW_PREFIX,
                error_output_prefix=ERROR_PREFIX,
                file_extension=".json.gz",
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=config.firehose_buffer_seconds,
                    size_in_m_bs=config.firehose_buffer_mib,
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=self.key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(
                        duration_in_seconds=3600
                    ),
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        # Emits JSON lines (one record a line, newline included), so COPY and
                        # DuckDB read the objects as they are. 1 MiB in stays well under
                        # Lambda's 6 MB response with the metadata added to each record.
                        _processor(
                            "Lambda",
                            LambdaArn=self.transform_fn.function_arn,
                            BufferSizeInMBs="1",
                            BufferIntervalInSeconds="60",
                            NumberOfRetries="3",
                        ),
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name,
                ),
                s3_backup_mode="Disabled",
            ),
        )
        acknowledge(self.transform_fn, "AwsSolutions-L1", LAMBDA_RUNTIME_REASON)
        acknowledge_all(
            self.transform_fn.role or self.transform_fn,
            "Basic execution only writes the transform's own logs.",
            LAMBDA_BASIC_EXECUTION,
        )
        # The role's policy must exist before Firehose first tries to read the stream.
        self.delivery_stream.node.add_dependency(role)
        self.delivery_stream_name = f"{config.prefix}-raw-archive"

        acknowledge_all(
            role,
            "Firehose writes one object per partition and buffer under these two prefixes; "
            "the names are generated, so the grant is the prefix. KMS actions are CDK's "
            "standard encrypt/decrypt grant on the stream and archive keys only.",
            *KMS_GRANT_WILDCARDS,
            wildcard_resource(nag_bucket_objects(config, "raw", "raw/*")),
            wildcard_resource(nag_bucket_objects(config, "raw", "errors/*")),
            # grant_invoke covers the function's versions and aliases (ARN:*).
            wildcard_resource(f"{nag_arn(self.transform_fn)}:*"),
        )
        acknowledge(
            self.delivery_stream,
            "AwsSolutions-KDF1",
            "Server-side encryption settings apply to Direct PUT only; with a Kinesis stream as "
            "source the data is encrypted by the stream's key and the archive's KMS key.",
        )


def _processor(kind: str, **parameters: str) -> firehose.CfnDeliveryStream.ProcessorProperty:
    return firehose.CfnDeliveryStream.ProcessorProperty(
        type=kind,
        parameters=[
            firehose.CfnDeliveryStream.ProcessorParameterProperty(
                parameter_name=name, parameter_value=value
            )
            for name, value in parameters.items()
        ],
    )

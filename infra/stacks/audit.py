"""Audit: the 7-year store for curated finance and audit tables (Redshift UNLOADs them here)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.settings import RETENTION, EnvironmentConfig
from infra.stacks._common import (
    SharedBucket,
    access_log_bucket,
    bucket_name,
    data_removal_policy,
)


class AuditStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        removal = data_removal_policy(config)
        access_logs = access_log_bucket(self, expire_days=RETENTION.audit_days, removal=removal)
        self.key = kms.Key(
            self,
            "AuditKey",
            alias=f"alias/{config.prefix}-audit",
            description="Encrypts the finance/audit table exports",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        name = bucket_name(config, "audit")
        self.bucket = s3.Bucket(
            self,
            "Audit",
            bucket_name=name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            object_lock_enabled=True,
            # Compliance mode: not even the account root can shorten it. The exports hold
            # settled amounts and keys, the kind of record an auditor must trust unaltered.
            object_lock_default_retention=s3.ObjectLockRetention.compliance(
                Duration.days(RETENTION.audit_days)
            ),
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="audit/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="audit-archive-and-expiry",
                    # Auditors read last year's books; older years can wait hours for a restore.
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                            transition_after=Duration.days(90),
                        ),
                        s3.Transition(
                            storage_class=s3.StorageClass.DEEP_ARCHIVE,
                            transition_after=Duration.days(400),
                        ),
                    ],
                    expiration=Duration.days(RETENTION.audit_days + 1),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal,
        )
        self.shared = SharedBucket(name=name, key=self.key, owner=self)

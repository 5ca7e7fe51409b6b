"""Streaming: the Kinesis data stream every source writes to, encrypted with its own key."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.settings import RETENTION, EnvironmentConfig, StreamMode
from infra.stacks._common import acknowledge


class StreamingStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.key = kms.Key(
            self,
            "StreamKey",
            alias=f"alias/{config.prefix}-stream",
            description="Encrypts the event stream (donor PII is in donation payloads)",
            enable_key_rotation=True,
        )
        provisioned = config.stream_mode is StreamMode.PROVISIONED
        self.stream = kinesis.Stream(
            self,
            "Events",
            stream_name=f"{config.prefix}-events",
            stream_mode=(
                kinesis.StreamMode.PROVISIONED if provisioned else kinesis.StreamMode.ON_DEMAND
            ),
            shard_count=config.stream_shards if provisioned else None,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=self.key,
            retention_period=Duration.hours(RETENTION.stream_hours),
        )
        acknowledge(
            self.stream,
            "AwsSolutions-KDS3",
            "A customer-managed key, not aws/kinesis: only roles granted on this key can read "
            "donor PII from the stream, and key use is logged per principal in CloudTrail.",
        )

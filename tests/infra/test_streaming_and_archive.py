"""The stream and its archive: encryption, retention, object lock, partitioning, least privilege."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Capture, Match, Template

from infra.pipeline import PipelineStage
from infra.settings import PROD, RETENTION
from ingestion.operations.cost.capacity import shards_needed


def test_stream_is_kms_encrypted_and_keeps_seven_days(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.streaming)
    template.resource_count_is("AWS::Kinesis::Stream", 1)
    template.has_resource_properties(
        "AWS::Kinesis::Stream",
        {
            "RetentionPeriodHours": 168,
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": Match.any_value()},
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
        },
    )
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_prod_shards_are_what_the_capacity_math_asks_for_in_each_mode(
    prod: PipelineStage,
) -> None:
    by_mode = {
        mode: shards_needed(events_per_second=rate, event_bytes=4096).shards
        for mode, rate in {"normal": 800, "campaign": 3000, "emergency": 8000}.items()
    }
    assert by_mode == {"normal": 4, "campaign": 15, "emergency": 40}
    assert PROD.stream_shards_by_mode == by_mode
    # Deployed at the normal count; a mode switch reshards (at most doubling per call).
    Template.from_stack(prod.streaming).has_resource_properties(
        "AWS::Kinesis::Stream", {"ShardCount": by_mode["normal"]}
    )


def test_dev_stream_is_on_demand(dev: PipelineStage) -> None:
    Template.from_stack(dev.streaming).has_resource_properties(
        "AWS::Kinesis::Stream", {"StreamModeDetails": {"StreamMode": "ON_DEMAND"}}
    )


def test_raw_bucket_is_locked_for_a_year_versioned_private_and_kms_encrypted(
    prod: PipelineStage,
) -> None:
    Template.from_stack(prod.archive).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockEnabled": True,
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": RETENTION.raw_days}},
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    Match.object_like(
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": Match.any_value(),
                            }
                        }
                    )
                ]
            },
            "LifecycleConfiguration": {
                "Rules": [
                    Match.object_like(
                        {
                            "ExpirationInDays": RETENTION.raw_days + 1,
                            "Transitions": Match.array_with(
                                [{"StorageClass": "GLACIER_IR", "TransitionInDays": 90}]
                            ),
                        }
                    )
                ]
            },
        },
    )


def test_raw_bucket_refuses_plain_http(prod: PipelineStage) -> None:
    Template.from_stack(prod.archive).has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_firehose_writes_gzip_json_lines_partitioned_by_source_date_hour(
    prod: PipelineStage,
) -> None:
    prefix = Capture()
    processors = Capture()
    Template.from_stack(prod.archive).has_resource_properties(
        "AWS::KinesisFirehose::DeliveryStream",
        {
            "DeliveryStreamType": "KinesisStreamAsSource",
            "ExtendedS3DestinationConfiguration": Match.object_like(
                {
                    "Prefix": prefix,
                    "ErrorOutputPrefix": Match.string_like_regexp(r"^errors/"),
                    "CompressionFormat": "GZIP",
                    "FileExtension": ".json.gz",
                    "DynamicPartitioningConfiguration": Match.object_like({"Enabled": True}),
                    "ProcessingConfiguration": {"Enabled": True, "Processors": processors},
                    "EncryptionConfiguration": {"KMSEncryptionConfig": Match.any_value()},
                }
            ),
        },
    )
    # The same layout the local archiver writes (ingestion/archive/keys.py), so replay reads both.
    assert prefix.as_string() == (
        "raw/source=!{partitionKeyFromLambda:source}/date=!{partitionKeyFromLambda:date}/"
        "hour=!{partitionKeyFromLambda:hour}/"
    )
    # One transform writes each record's archive line with its stream metadata.
    assert [p["Type"] for p in processors.as_array()] == ["Lambda"]


def test_the_archive_transform_is_the_archive_format_module_alone(prod: PipelineStage) -> None:
    Template.from_stack(prod.archive).has_resource_properties(
        "AWS::Lambda::Function", {"Handler": "ingestion.archive.format.handler"}
    )
    actions = _actions(Template.from_stack(prod.archive), "FirehoseRole")
    assert "lambda:InvokeFunction" in actions


def _actions(template: Template, role_prefix: str) -> set[str]:
    actions: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        roles = str(policy["Properties"].get("Roles"))
        if role_prefix not in roles:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            found: Any = statement["Action"]
            actions.update([found] if isinstance(found, str) else found)
    return actions


def test_firehose_role_can_write_the_archive_but_never_delete(prod: PipelineStage) -> None:
    actions = _actions(Template.from_stack(prod.archive), "FirehoseRole")
    assert {"s3:PutObject", "kinesis:GetRecords"} <= actions
    assert not any(a.startswith("s3:Delete") or a == "s3:*" for a in actions)

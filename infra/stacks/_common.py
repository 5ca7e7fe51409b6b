"""Helpers shared by the stacks: cdk-nag acknowledgements, bucket names, removal policy.

cdk-nag 3 acknowledges each finding by its exact id (`AwsSolutions-IAM5[Resource::...]`), so
the helpers here build those ids from the constructs themselves instead of pasting hashed
logical IDs into the code.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import (
    Acknowledgment,
    Aws,
    CfnElement,
    Duration,
    RemovalPolicy,
    Stack,
    Validations,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import aws_lambda as lambda_
from aws_cdk import (
    aws_s3 as s3,
)
from constructs import Construct, IConstruct

from infra.settings import EnvironmentConfig

# What CDK's own KMS grants (grant_encrypt_decrypt, stream/bucket grants) always contain.
KMS_GRANT_WILDCARDS = (
    "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
    "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
)
LAMBDA_BASIC_EXECUTION = (
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]"
)

# The Python every Lambda of ours runs on: the version the lock is compiled for and the tests run
# (pyproject's [tool.mypy] python_version; tests/infra/test_lambda_packaging.py checks both).
LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_11
LAMBDA_RUNTIME_REASON = (
    "Runs the Python the lock is compiled for and every test runs (3.11), so what is deployed "
    "is what was tested; the runtime moves with the lock, not ahead of it."
)


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one cdk-nag finding on one construct, with the reason kept beside the code."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_all(construct: IConstruct, reason: str, *rules: str) -> None:
    for rule in rules:
        acknowledge(construct, rule, reason)


def wildcard_resource(resource: str) -> str:
    return f"AwsSolutions-IAM5[Resource::{resource}]"


def nag_arn(construct: IConstruct) -> str:
    """How cdk-nag prints `Fn::GetAtt [<resource>, Arn]` of a construct in this stack."""
    element = construct if isinstance(construct, CfnElement) else construct.node.default_child
    # S101: narrows the type for mypy; a construct's default child is a CfnElement.
    assert isinstance(element, CfnElement)  # noqa: S101
    stack = Stack.of(element)
    return f"<{stack.resolve(stack.get_logical_id(element))}.Arn>"


def bucket_name(config: EnvironmentConfig, purpose: str) -> str:
    """Deterministic, globally unique bucket names: runbooks can name them, and other stacks
    can import them by name rather than through a CloudFormation export."""
    return f"{config.prefix}-{purpose}-{Aws.ACCOUNT_ID}-{config.region}"


def nag_bucket_objects(config: EnvironmentConfig, purpose: str, pattern: str) -> str:
    """cdk-nag's rendering of `arn:...:s3:::<bucket_name(...)>/<pattern>`."""
    name = f"{config.prefix}-{purpose}-<AWS::AccountId>-{config.region}"
    return f"arn:<AWS::Partition>:s3:::{name}/{pattern}"


def data_removal_policy(config: EnvironmentConfig) -> RemovalPolicy:
    return RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY


@dataclass(frozen=True)
class SharedBucket:
    """A bucket another stack reads or writes: referenced by its fixed name plus its key, so the
    consumer's grants name the bucket instead of a CloudFormation export."""

    name: str
    key: kms.IKey
    owner: Stack

    def import_into(self, scope: Construct, construct_id: str) -> s3.IBucket:
        consumer = Stack.of(scope)
        # A name is not a reference: make CloudFormation order the stacks all the same.
        consumer.add_stack_dependency(self.owner)
        return s3.Bucket.from_bucket_attributes(
            scope, construct_id, bucket_name=self.name, encryption_key=self.key
        )


def access_log_bucket(scope: Construct, *, expire_days: int, removal: RemovalPolicy) -> s3.Bucket:
    """Server access logs for the buckets of one stack. One per stack, because the log bucket's
    policy names its source buckets: a shared one would tie stacks into a cycle."""
    return s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,  # log delivery supports SSE-S3 only
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        versioned=True,
        lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(expire_days))],
        removal_policy=removal,
    )

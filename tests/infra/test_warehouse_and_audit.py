"""Redshift Serverless, its streaming-ingestion SQL, and the 7-year audit store."""

from __future__ import annotations

import json
import re

import sqlglot
from aws_cdk.assertions import Match, Template

from infra.pipeline import PipelineStage
from infra.settings import PROD, RETENTION
from infra.stacks.warehouse import STREAMING_SQL
from ingestion.batch.sources import BATCH_SOURCES
from ingestion.config.s3_access import MANIFEST_PREFIX

# The column names the dbt landing layer (and the local lander) rely on.
STREAM_VIEW_COLUMNS = [
    "approximate_arrival_timestamp",
    "partition_key",
    "shard_id",
    "sequence_number",
    "refresh_time",
    "kinesis_data",
    "kinesis_data_bytes",
    "record",
]


def test_workgroup_is_private_with_enhanced_vpc_routing_and_bounded_rpu(
    prod: PipelineStage,
) -> None:
    template = Template.from_stack(prod.warehouse)
    template.has_resource_properties(
        "AWS::RedshiftServerless::Workgroup",
        {
            "BaseCapacity": PROD.redshift_base_rpu,
            "MaxCapacity": PROD.redshift_max_rpu,
            "EnhancedVpcRouting": True,
            "PubliclyAccessible": False,
            "SubnetIds": Match.any_value(),
        },
    )
    workgroup = next(iter(template.find_resources("AWS::RedshiftServerless::Workgroup").values()))
    assert len(workgroup["Properties"]["SubnetIds"]) == 3  # three AZs
    namespace_id = next(iter(template.find_resources("AWS::RedshiftServerless::Namespace")))
    assert namespace_id in workgroup["DependsOn"]


def test_namespace_is_encrypted_audited_and_has_no_password_in_code(prod: PipelineStage) -> None:
    Template.from_stack(prod.warehouse).has_resource_properties(
        "AWS::RedshiftServerless::Namespace",
        {
            "KmsKeyId": Match.any_value(),
            "ManageAdminPassword": True,
            "AdminUserPassword": Match.absent(),
            "LogExports": ["userlog", "connectionlog", "useractivitylog"],
            "DefaultIamRoleArn": Match.any_value(),
        },
    )


def test_usage_limits_never_switch_the_warehouse_off(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.warehouse)
    limits = template.find_resources("Custom::AWS")
    assert len(limits) == 2
    for limit in limits.values():
        create = str(limit["Properties"]["Create"])
        assert "CreateUsageLimit" in str(create)
        assert "deactivate" not in create


def test_streaming_role_is_trusted_by_redshift_and_reads_the_stream(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.warehouse)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Principal": {"Service": "redshift.amazonaws.com"}})]
                )
            }
        },
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": Match.array_with(
                                    ["kinesis:GetRecords", "kinesis:GetShardIterator"]
                                )
                            }
                        )
                    ]
                )
            }
        },
    )


def test_streaming_view_sql_parses_and_keeps_raw_record_columns() -> None:
    sql = STREAMING_SQL.read_text().format(
        external_schema="kinesis_prod",
        stream_name="accfb-prod-events",
        iam_role_arn="arn:aws:iam::123456789012:role/x",
    )
    statements = [s for s in sqlglot.parse(sql, read="redshift") if s is not None]
    view = next(s for s in statements if isinstance(s, sqlglot.exp.Create) and s.kind == "VIEW")
    select = view.expression
    assert isinstance(select, sqlglot.exp.Select)
    assert select.named_selects == STREAM_VIEW_COLUMNS
    # Invalid JSON is kept: parsing is guarded, and the raw text is a column of its own.
    assert re.search(
        r"case when octet_length\(kinesis_data\) <= 65535 and can_json_parse\(kinesis_data\)"
        r"\s+then json_parse",
        sql,
    )
    assert "json_extract_path_text" not in sql


def test_audit_bucket_is_locked_in_compliance_mode_for_seven_years(prod: PipelineStage) -> None:
    Template.from_stack(prod.audit).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "ObjectLockConfiguration": {
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": RETENTION.audit_days}},
            },
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )
    assert RETENTION.audit_days >= 7 * 365


def _s3_object_grants(template: Template, action: str) -> set[str]:
    """The object patterns (after the bucket name) that a stack's policies allow ``action`` on."""
    patterns = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            if action not in (actions if isinstance(actions, list) else [actions]):
                continue
            resources = statement["Resource"]
            for resource in resources if isinstance(resources, list) else [resources]:
                text = json.dumps(resource)
                patterns.update(re.findall(r'/([a-z]+/\*)"', text))
    return patterns


def test_copy_can_read_every_prefix_the_loads_name(prod: PipelineStage) -> None:
    # The loads' own prefixes, so a new batch source or manifest home cannot drift from the grant.
    loaded = {"raw/*", MANIFEST_PREFIX + "*"} | {
        source.prefix.split("/")[0] + "/*" for source in BATCH_SOURCES.values()
    }
    assert loaded <= _s3_object_grants(Template.from_stack(prod.warehouse), "s3:GetObject*")
    orchestration = Template.from_stack(prod.orchestration)
    # Airflow lists what a load will read and writes the manifest naming it.
    assert loaded - {MANIFEST_PREFIX + "*"} <= _s3_object_grants(orchestration, "s3:GetObject*")
    assert MANIFEST_PREFIX + "*" in _s3_object_grants(orchestration, "s3:PutObject")

"""The deployed PII hash: the Lambda UDF, the one secret it reads, and the role Redshift uses.

The key's secret must be readable by the Lambda alone (not by the MWAA workers, whose role reads
``airflow/*``), and Redshift's role may invoke that Lambda and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk.assertions import Match, Template

from infra.pipeline import PipelineStage
from infra.settings import PROD
from ingestion.pii.redshift_udf import KEY_SECRET_ENV


def _only(resources: Mapping[str, Any]) -> tuple[str, Any]:
    (found,) = resources.items()
    return found


def _statements(template: Template, role_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to one role."""
    found = []
    for policy in template.find_resources("AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_the_udf_lambda_runs_the_handler_with_the_key_secret_named(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.warehouse)
    secret_id, secret = _only(template.find_resources("AWS::SecretsManager::Secret"))
    assert secret["Properties"]["Name"] == f"{PROD.prefix}/warehouse/pii-hash-key"
    assert secret["DeletionPolicy"] == "Retain"  # losing the key orphans every stored hash
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"{PROD.prefix}-pii-hmac",
            "Handler": "ingestion.pii.redshift_udf.handler",
            "Environment": {"Variables": {KEY_SECRET_ENV: {"Ref": secret_id}}},
        },
    )


def test_only_the_udf_lambda_reads_the_key_and_only_that_secret(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.warehouse)
    secret_id, _ = _only(template.find_resources("AWS::SecretsManager::Secret"))
    _, function = _only(
        template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"FunctionName": f"{PROD.prefix}-pii-hmac"}}
        )
    )
    function_role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    readers: set[str] = set()
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if any(a.startswith("secretsmanager:") for a in _actions(statement)):
                assert statement["Resource"] == {"Ref": secret_id}
                readers.update(role["Ref"] for role in policy["Properties"]["Roles"])
    assert readers == {function_role}
    # No other stack names the key: the workers' airflow/* read does not reach it.
    for stack in (prod.orchestration, prod.serving, prod.edge):
        assert "pii-hash-key" not in str(Template.from_stack(stack).to_json())


def test_redshift_assumes_a_role_that_may_invoke_only_the_udf_lambda(
    prod: PipelineStage,
) -> None:
    template = Template.from_stack(prod.warehouse)
    function_id, _ = _only(
        template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"FunctionName": f"{PROD.prefix}-pii-hmac"}}
        )
    )
    role_id, role = _only(
        template.find_resources(
            "AWS::IAM::Role",
            {"Properties": {"Description": Match.string_like_regexp("f_accfb_pii_hmac")}},
        )
    )
    trusted: set[str] = set()
    for trust in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
        assert trust["Action"] == "sts:AssumeRole"
        assert set(trust["Principal"]) == {"Service"}
        service = trust["Principal"]["Service"]
        trusted.update([service] if isinstance(service, str) else service)
    assert trusted == {"redshift-serverless.amazonaws.com", "redshift.amazonaws.com"}
    assert "ManagedPolicyArns" not in role["Properties"]
    (statement,) = _statements(template, role_id)
    assert _actions(statement) == {"lambda:InvokeFunction"}
    assert statement["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}

    _, namespace = _only(template.find_resources("AWS::RedshiftServerless::Namespace"))
    assert {"Fn::GetAtt": [role_id, "Arn"]} in namespace["Properties"]["IamRoles"]


def test_the_stack_exports_what_dbt_declares_the_function_with(prod: PipelineStage) -> None:
    template = Template.from_stack(prod.warehouse)
    function_id, _ = _only(
        template.find_resources(
            "AWS::Lambda::Function", {"Properties": {"FunctionName": f"{PROD.prefix}-pii-hmac"}}
        )
    )
    outputs = template.find_outputs("*")
    assert outputs["PiiHashLambda"]["Value"] == {"Ref": function_id}
    assert "PiiHashInvokeRole" in str(outputs["PiiHashLambdaRoleArn"]["Value"])

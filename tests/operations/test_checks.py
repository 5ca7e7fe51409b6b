"""`accfb check` on a Redshift target: the Soda data source comes from the settings and IAM (no
password configured), the contracts name the database, and what is missing is said plainly.
Unit tests: no Redshift here, so the AWS API is stubbed with botocore's Stubber."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from ingestion.config.settings import Settings
from ingestion.operations import checks
from ingestion.operations.checks import (
    ChecksUnavailable,
    contract_in_database,
    contract_paths,
    redshift_data_source,
    run_checks,
)

WORKGROUP = {
    "workgroup": {
        "workgroupName": "accfb-prod",
        "endpoint": {
            "address": "accfb-prod.123456789012.us-west-2.redshift-serverless.amazonaws.com",
            "port": 5439,
        },
    }
}
LOGIN = {"dbUser": "IAMR:accfb-mwaa-execution", "dbPassword": "temporary"}


@pytest.fixture
def serverless() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "redshift-serverless",
        region_name="us-west-2",
        aws_access_key_id="unit",
        aws_secret_access_key="unit",
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _expect_login(stubber: Stubber, workgroup: str = "accfb-prod") -> None:
    stubber.add_response(
        "get_credentials",
        LOGIN,
        {"workgroupName": workgroup, "dbName": "accfb", "durationSeconds": 900},
    )


def test_the_data_source_is_the_workgroups_endpoint_with_the_iam_identitys_credentials(
    serverless: tuple[Any, Stubber],
) -> None:
    client, stubber = serverless
    stubber.add_response("get_workgroup", WORKGROUP, {"workgroupName": "accfb-prod"})
    _expect_login(stubber)

    config = redshift_data_source(Settings(dbt_target="prod"), client)

    assert config == {
        "type": "redshift",
        "name": "accfb",
        "connection": {
            "host": WORKGROUP["workgroup"]["endpoint"]["address"],
            "port": 5439,
            "database": "accfb",
            "user": "IAMR:accfb-mwaa-execution",
            "password": "temporary",
            "connect_timeout": 10,
        },
    }
    # What soda-redshift accepts: the user/password connection, the password kept secret.
    from soda_redshift.common.data_sources.redshift_data_source_connection import (
        RedshiftDataSource,
        RedshiftUserPassConnection,
    )

    model = RedshiftDataSource.model_validate(config)
    assert isinstance(model.connection_properties, RedshiftUserPassConnection)
    assert "temporary" not in repr(model)


def test_a_configured_host_and_workgroup_skip_the_lookup(serverless: tuple[Any, Stubber]) -> None:
    client, stubber = serverless
    _expect_login(stubber, workgroup="finance-wg")
    settings = Settings(
        dbt_target="dev", redshift_host="redshift.internal", redshift_workgroup="finance-wg"
    )

    connection = redshift_data_source(settings, client)["connection"]

    assert (connection["host"], connection["port"]) == ("redshift.internal", 5439)


def test_refused_credentials_say_which_permission_and_workgroup(
    serverless: tuple[Any, Stubber],
) -> None:
    client, stubber = serverless
    stubber.add_client_error("get_credentials", "AccessDeniedException", "not authorized")

    with pytest.raises(ChecksUnavailable, match="redshift-serverless:GetCredentials") as refused:
        redshift_data_source(Settings(dbt_target="dev", redshift_host="h"), client)
    assert "'accfb-dev'" in str(refused.value)


@pytest.mark.parametrize("path", contract_paths(), ids=lambda path: path.stem)
def test_every_contract_names_its_table_with_the_database_on_redshift(path: Path) -> None:
    local = yaml.safe_load(path.read_text())
    on_redshift = yaml.safe_load(contract_in_database(path.read_text(), "accfb_prod"))

    data_source, schema, table = local["dataset"].split("/")
    assert on_redshift["dataset"] == f"{data_source}/accfb_prod/{schema}/{table}"
    assert {k: v for k, v in on_redshift.items() if k != "dataset"} == {
        k: v for k, v in local.items() if k != "dataset"
    }


def test_a_contract_for_another_data_source_is_refused() -> None:
    with pytest.raises(ValueError, match="must start with accfb/"):
        contract_in_database("dataset: other/marts/fct_donations\n", "accfb")


def test_without_soda_redshift_the_check_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in [name for name in sys.modules if name.startswith("soda_redshift")] + [
        "soda_redshift"
    ]:
        monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(ChecksUnavailable, match=r"soda-redshift==4\.28\.\*"):
        checks._redshift_impl({})


def test_on_redshift_every_contract_is_verified_through_soda_redshift(
    serverless: tuple[Any, Stubber], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to the network: a closed loopback port stands in for the workgroup, so every contract
    reaches soda-redshift's connection and reports an error, none a NotImplementedError."""
    client, stubber = serverless
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    _expect_login(stubber, workgroup="accfb-dev")
    monkeypatch.setattr(checks.aws, "client", lambda service, settings: client)
    settings = Settings(dbt_target="dev", redshift_host="127.0.0.1", redshift_port=closed_port)

    report = run_checks(settings, contract_paths()[:2])

    assert report.contracts == [path.stem for path in contract_paths()[:2]]
    assert len(report.errors) == 2 and not report.ok
    assert all(str(closed_port) in error for error in report.errors), report.errors

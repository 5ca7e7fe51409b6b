"""One typed settings object, read from ``ACCFB_*`` environment variables.

Everything that differs between two runs on one machine (a demo beside a test run, local beside
AWS) is a setting here, so no module reads the environment on its own.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingestion.config.constants import REFRESH_INTERVAL_SECONDS

REPO_ROOT = Path(__file__).resolve().parents[2]


class Environment(StrEnum):
    """Where the pipeline runs: the laptop default, or one of the two deployments."""

    LOCAL = "local"
    DEV = "dev"
    PROD = "prod"


class Settings(BaseSettings):
    """Pipeline configuration; see the README's settings table for each variable."""

    model_config = SettingsConfigDict(env_prefix="ACCFB_", frozen=True, extra="ignore")

    # Required, with no default: a deployed worker that was given no variables must fail at
    # start-up rather than build into a DuckDB file on its own disk and alert nobody.
    environment: Environment = Field(
        description="local (DuckDB and the loopback endpoint), dev or prod (AWS)."
    )

    state_dir: Path = Field(
        default=REPO_ROOT / ".accfb",
        description=(
            "Every local file: the warehouse (unless ACCFB_WAREHOUSE_PATH says otherwise), the "
            "serving copy, endpoint pid and log files, dbt target and logs, alerts, Airflow."
        ),
    )
    warehouse_path: Path = Field(
        # Only a fallback for the type: unset, _warehouse_under_the_state_dir puts it under
        # the state dir, wherever that is.
        default=REPO_ROOT / ".accfb" / "warehouse.duckdb",
        description="The DuckDB file that is the local warehouse. Unset: under the state dir.",
    )
    aws_endpoint_url: str | None = Field(
        default=None,
        description="Local AWS endpoint (moto), e.g. http://127.0.0.1:4566. Unset: real AWS.",
    )
    aws_region: str = "us-west-2"
    stream_name: str = "accfb-events"
    raw_bucket: str = "accfb-raw"
    audit_bucket: str = Field(
        default="accfb-audit",
        description=(
            "Bucket of the 7-year finance audit exports (infra/stacks/audit.py names the deployed "
            "one accfb-<env>-audit-<account>-<region>); locally created with object lock."
        ),
    )
    lineage_bucket: str = Field(
        default="accfb-lineage",
        description=(
            "Bucket the lineage site is published to (infra/stacks/serving.py names the deployed "
            "one accfb-<env>-lineage-<account>-<region>; dags/accfb_lineage_site.py)."
        ),
    )
    stream_shards: int = Field(
        default=4, ge=1, description="Shards of the stream that `accfb up` creates locally."
    )
    dbt_target: str = Field(default="local", description="dbt target in profiles/profiles.yml.")
    # Redshift Serverless, for the dev and prod targets (dbt reads the same variables in
    # profiles/profiles.yml). No password: database credentials come from IAM at run time.
    redshift_host: str | None = Field(
        default=None, description="Workgroup endpoint. Unset: looked up from the workgroup."
    )
    redshift_port: int = 5439
    redshift_database: str = "accfb"
    redshift_workgroup: str | None = Field(
        default=None, description="Serverless workgroup. Unset: accfb-<dbt target>."
    )
    refresh_interval_seconds: float = Field(
        default=REFRESH_INTERVAL_SECONDS,
        gt=0,
        description="Cadence of the streaming refresh in `accfb demo` (the DAG's, by default).",
    )
    refresh_schedule: str = Field(
        default="@continuous",
        description="The refresh DAG's schedule: back to back, or a cron (dags/accfb_refresh.py).",
    )
    landing_records_per_call: int = Field(
        default=10_000,
        ge=1,
        le=10_000,
        description="GetRecords page size of the lander (Kinesis's maximum is 10,000).",
    )
    poll_interval_seconds: float = Field(
        default=1.0, gt=0, description="How long the lander sleeps when every shard is drained."
    )

    alert_topic_arn: str | None = Field(
        default=None,
        description="SNS topic for alerts in AWS. Unset: the state dir's alerts.jsonl.",
    )
    pii_hash_key: SecretStr = Field(
        default=SecretStr("local-only-not-a-secret"),
        description=(
            "Key of the donor-email hash on the local warehouse (ingestion/pii/). Deployed, the "
            "Redshift Lambda UDF reads its own from Secrets Manager and no worker holds it."
        ),
    )
    producer_max_in_flight: int = Field(
        default=4, ge=1, description="PutRecords calls a producer keeps in flight against AWS."
    )

    @model_validator(mode="before")
    @classmethod
    def _warehouse_under_the_state_dir(cls, data: Any) -> Any:
        """The warehouse follows ACCFB_STATE_DIR, so two state dirs are two whole runs."""
        if isinstance(data, dict) and not data.get("warehouse_path"):
            state_dir = data.get("state_dir") or REPO_ROOT / ".accfb"
            return {**data, "warehouse_path": Path(state_dir) / "warehouse.duckdb"}
        return data

    @classmethod
    def from_environment(cls) -> Settings:
        """Every value from the ``ACCFB_*`` variables, the required environment among them."""
        # call-arg: mypy's pydantic plugin cannot see that the environment supplies the field.
        return cls()  # type: ignore[call-arg]

    @model_validator(mode="after")
    def _deployed_needs_deployed_settings(self) -> Self:
        """A deployed environment refuses the local defaults: each one would send its work or
        its alerts somewhere nobody looks."""
        if self.environment is Environment.LOCAL:
            return self
        wrong = []
        if self.aws_endpoint_url is not None:
            wrong.append("ACCFB_AWS_ENDPOINT_URL is set (a local endpoint)")
        if self.dbt_target != self.environment.value:
            wrong.append(f"ACCFB_DBT_TARGET is {self.dbt_target!r}, not {self.environment.value!r}")
        if not self.alert_topic_arn:
            wrong.append("ACCFB_ALERT_TOPIC_ARN is unset (alerts would go to a local file)")
        if wrong:
            raise ValueError(f"environment {self.environment.value}: " + "; ".join(wrong))
        return self

    @property
    def producer_in_flight(self) -> int:
        """Calls in flight for this endpoint: one locally, where the endpoint serves requests
        one at a time (ingestion/local/endpoint_server.py) and parallel calls only queue: measured
        7,536 records/s with one in flight against 2,750/s with four."""
        return 1 if self.is_local else self.producer_max_in_flight

    @property
    def is_local(self) -> bool:
        """True when the pipeline talks to the loopback endpoint rather than AWS."""
        return self.aws_endpoint_url is not None

    @property
    def workgroup(self) -> str:
        return self.redshift_workgroup or f"accfb-{self.dbt_target}"

    @property
    def dbt_target_dir(self) -> Path:
        return self.state_dir / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.state_dir / "dbt" / "logs"

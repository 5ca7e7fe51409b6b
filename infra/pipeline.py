"""The whole pipeline for one environment: the component stacks and the props that join them."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from infra.settings import EnvironmentConfig
from infra.stacks.archive import ArchiveStack
from infra.stacks.audit import AuditStack
from infra.stacks.edge import EdgeStack
from infra.stacks.monitoring import MonitoringStack, Severity
from infra.stacks.network import NetworkStack
from infra.stacks.orchestration import OrchestrationStack
from infra.stacks.serving import ServingStack
from infra.stacks.streaming import StreamingStack
from infra.stacks.warehouse import WarehouseStack


class PipelineStage(Stage):
    """Deploys as `<Env>/<Component>` stacks; each stack can be deployed and rolled back alone."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        account: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, env=Environment(account=account, region=config.region), **kwargs
        )
        Tags.of(self).add("project", "accfb-pipeline")
        Tags.of(self).add("environment", config.name)

        self.network = NetworkStack(self, "Network", config=config)
        self.streaming = StreamingStack(self, "Streaming", config=config)
        self.archive = ArchiveStack(self, "Archive", config=config, stream=self.streaming.stream)
        self.audit = AuditStack(self, "Audit", config=config)
        self.warehouse = WarehouseStack(
            self,
            "Warehouse",
            config=config,
            vpc=self.network.vpc,
            stream=self.streaming.stream,
            raw_archive=self.archive.shared,
            audit_store=self.audit.shared,
        )
        self.edge = EdgeStack(self, "Edge", config=config, stream=self.streaming.stream)
        self.monitoring = MonitoringStack(
            self,
            "Monitoring",
            config=config,
            stream=self.streaming.stream,
            delivery_stream_name=self.archive.delivery_stream_name,
            workgroup_name=self.warehouse.workgroup_name,
            airflow_environment_name=config.airflow_environment_name,
            webhook_api=self.edge.api,
            webhook_fn=self.edge.webhook_fn,
            poller_fn=self.edge.poller_fn,
            poller_dead_letters=self.edge.dead_letters,
        )
        self.orchestration = OrchestrationStack(
            self,
            "Orchestration",
            config=config,
            vpc=self.network.vpc,
            workgroup_arn=self.warehouse.workgroup_arn,
            workgroup_name=self.warehouse.workgroup_name,
            workgroup_host=self.warehouse.workgroup.attr_workgroup_endpoint_address,
            database=self.warehouse.database,
            warehouse_role_arn=self.warehouse.role.role_arn,
            pii_hash_lambda=self.warehouse.pii_hash_fn.function_name,
            pii_hash_role_arn=self.warehouse.pii_hash_role.role_arn,
            stream=self.streaming.stream,
            raw_archive=self.archive.shared,
            # The DAGs' own alerts (a failed check, a slow refresh) open tickets; the alarms
            # page (docs/on-call.md).
            alert_topic=self.monitoring.topics[Severity.TICKET],
        )
        self.serving = ServingStack(
            self,
            "Serving",
            config=config,
            vpc=self.network.vpc,
            workgroup_arn=self.warehouse.workgroup_arn,
            workgroup_name=self.warehouse.workgroup_name,
            workgroup_host=self.warehouse.workgroup.attr_workgroup_endpoint_address,
            database=self.warehouse.database,
            # The dashboards being down and a fast burn page; a slow burn opens a ticket.
            topics=self.monitoring.topics,
        )

"""Network: a VPC over three AZs for the warehouse and Airflow, with endpoints on the data path."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.settings import EnvironmentConfig
from infra.stacks._common import acknowledge


class NetworkStack(Stack):
    """Private subnets in three AZs (Redshift Serverless needs three; MWAA uses two)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.THREE_MONTHS,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr("10.40.0.0/16"),
            availability_zones=list(config.availability_zones),
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            flow_logs={
                "all": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,
                )
            },
        )
        # COPY/UNLOAD traffic stays off the NAT gateways (enhanced VPC routing sends it into the
        # VPC): the gateway endpoint is free, NAT processing is per GB.
        self.vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        # Streaming ingestion reads the whole stream from inside the VPC: an interface endpoint
        # costs a quarter of NAT processing per GB, and has one ENI per AZ.
        kinesis_endpoint = self.vpc.add_interface_endpoint(
            "Kinesis",
            service=ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
            private_dns_enabled=True,
        )
        acknowledge(
            kinesis_endpoint,
            "AwsSolutions-EC23",
            "Ingress is the VPC's own CIDR (CDK's default for endpoints), which cdk-nag cannot "
            "evaluate because the CIDR is a CloudFormation reference.",
        )
        self.private_subnets = self.vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
        )

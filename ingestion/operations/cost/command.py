"""`accfb cost`: print the monthly cost table for one operating mix (registered by the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ingestion.operations.cost.model import (
    PRICES_FILE,
    Estimate,
    Mode,
    Workload,
    estimate,
    load_prices,
)


def cost(
    normal_hours: Annotated[float, typer.Option(help="Hours this month at the normal rate.")] = 700,
    campaign_hours: Annotated[float, typer.Option(help="Hours at the campaign rate.")] = 30,
    emergency_hours: Annotated[float, typer.Option(help="Hours at the emergency rate.")] = 0,
    normal_eps: Annotated[float, typer.Option(help="Events/s in normal hours.")] = 800,
    campaign_eps: Annotated[float, typer.Option(help="Events/s in campaign hours.")] = 3_000,
    emergency_eps: Annotated[float, typer.Option(help="Events/s in emergency hours.")] = 8_000,
    event_kb: Annotated[float, typer.Option(help="Average event size in KB.")] = 3.0,
    refresh_seconds: Annotated[
        float, typer.Option(help="Warehouse refresh cadence (freshness goal: 60).")
    ] = 60,
    webhook_share: Annotated[
        float, typer.Option(help="Share of events arriving by the donation webhook.")
    ] = 0.02,
    stream_mode: Annotated[
        str, typer.Option(help="Kinesis capacity mode: provisioned or on_demand.")
    ] = "provisioned",
    prices: Annotated[Path, typer.Option(help="Dated price list (JSON).")] = PRICES_FILE,
) -> Estimate:
    """Monthly AWS cost per service and in total, beside an always-on provisioned cluster."""
    if stream_mode not in {"provisioned", "on_demand"}:
        raise typer.BadParameter("provisioned or on_demand", param_hint="--stream-mode")
    workload = Workload(
        modes=(
            Mode(name="normal", hours=normal_hours, events_per_second=normal_eps),
            Mode(name="campaign", hours=campaign_hours, events_per_second=campaign_eps),
            Mode(name="emergency", hours=emergency_hours, events_per_second=emergency_eps),
        ),
        event_kb=event_kb,
        refresh_interval_seconds=refresh_seconds,
        stream_mode=stream_mode,
        webhook_share=webhook_share,
    )
    result = estimate(workload, load_prices(prices))
    Console().print(render(result))
    return result


def render(result: Estimate) -> Table:
    table = Table(
        title=(
            f"ACCFB pipeline, monthly cost ({result.region} list prices as of "
            f"{result.prices_as_of})"
        ),
        caption="\n".join(result.notes),
    )
    table.add_column("Service")
    table.add_column("Line")
    table.add_column("USD / month", justify="right")
    for service, total in result.by_service().items():
        items = [line for line in result.lines if line.service == service]
        for i, line in enumerate(items):
            table.add_row(service if i == 0 else "", line.item, f"{line.monthly_usd:,.2f}")
        if len(items) > 1:
            table.add_row("", "[italic]subtotal[/italic]", f"[italic]{total:,.2f}[/italic]")
    table.add_section()
    table.add_row("[bold]Total[/bold]", "this design", f"[bold]{result.total:,.2f}[/bold]")
    table.add_section()
    for line in result.provisioned_alternative:
        table.add_row(line.service, line.item, f"{line.monthly_usd:,.2f}")
    table.add_row(
        "[bold]Total[/bold]",
        "same pipeline on the provisioned cluster",
        f"[bold]{result.total_with_provisioned:,.2f}[/bold]",
    )
    return table

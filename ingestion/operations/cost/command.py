"""`accfb cost`: print the monthly cost table for one operating mix (registered by the CLI)."""

from __future__ import annotations

from dataclasses import replace
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

# A disaster-response surge as the brief describes it: three days at the emergency rate.
EMERGENCY_HOURS = 72.0


def cost(
    normal_hours: Annotated[float, typer.Option(help="Hours this month at the normal rate.")] = 700,
    campaign_hours: Annotated[float, typer.Option(help="Hours at the campaign rate.")] = 30,
    emergency_hours: Annotated[float, typer.Option(help="Hours at the emergency rate.")] = 0,
    normal_eps: Annotated[float, typer.Option(help="Events/s in normal hours.")] = 800,
    campaign_eps: Annotated[float, typer.Option(help="Events/s in campaign hours.")] = 3_000,
    emergency_eps: Annotated[float, typer.Option(help="Events/s in emergency hours.")] = 8_000,
    event_kb: Annotated[float, typer.Option(help="Average event size in KB.")] = 3.0,
    webhook_share: Annotated[
        float, typer.Option(help="Share of events arriving by the donation webhook.")
    ] = 0.02,
    stream_mode: Annotated[
        str,
        typer.Option(
            help="Kinesis capacity: by_mode (resharded per mode), provisioned (peak all month) "
            "or on_demand."
        ),
    ] = "by_mode",
    warehouse_base: Annotated[
        str, typer.Option(help="Workgroup base RPU: by_mode (4 in normal hours) or fixed (8).")
    ] = "by_mode",
    orchestration: Annotated[
        str,
        typer.Option(help="dedicated (an MWAA environment of its own) or shared (existing)."),
    ] = "dedicated",
    mwaa_class: Annotated[str, typer.Option(help="MWAA environment class.")] = "mw1.micro",
    mwaa_extra_workers: Annotated[
        float, typer.Option(help="Workers above the one the environment includes.")
    ] = 0,
    reserved_rpu: Annotated[
        int, typer.Option(help="Redshift Serverless RPUs reserved for a year (0: on demand).")
    ] = 4,
    reservation_payment: Annotated[
        str, typer.Option(help="The reservation paid all_upfront or no_upfront.")
    ] = "all_upfront",
    prices: Annotated[Path, typer.Option(help="Dated price list (JSON).")] = PRICES_FILE,
) -> Estimate:
    """Monthly AWS cost per service and in total, beside an always-on provisioned cluster."""
    if stream_mode not in {"by_mode", "provisioned", "on_demand"}:
        raise typer.BadParameter("by_mode, provisioned or on_demand", param_hint="--stream-mode")
    if warehouse_base not in {"by_mode", "fixed"}:
        raise typer.BadParameter("by_mode or fixed", param_hint="--warehouse-base")
    if reservation_payment not in {"all_upfront", "no_upfront"}:
        raise typer.BadParameter("all_upfront or no_upfront", param_hint="--reservation-payment")
    if orchestration not in {"dedicated", "shared"}:
        raise typer.BadParameter("dedicated or shared", param_hint="--orchestration")
    workload = Workload(
        modes=(
            Mode(name="normal", hours=normal_hours, events_per_second=normal_eps),
            Mode(name="campaign", hours=campaign_hours, events_per_second=campaign_eps),
            Mode(name="emergency", hours=emergency_hours, events_per_second=emergency_eps),
        ),
        event_kb=event_kb,
        stream_mode=stream_mode,
        warehouse_base=warehouse_base,
        orchestration=orchestration,
        mwaa_class=mwaa_class,
        mwaa_extra_workers=mwaa_extra_workers,
        warehouse_reserved_rpu=reserved_rpu,
        reservation_payment=reservation_payment,
        webhook_share=webhook_share,
    )
    result = estimate(workload, load_prices(prices))
    console = Console()
    console.print(render(result))
    # Beside it, the same month with a disaster in it: 72 emergency hours taken from the
    # normal ones (the stream resharded and the warehouse scaled for them).
    emergency = replace(
        workload,
        modes=(
            Mode(
                name="normal",
                hours=max(0.0, normal_hours - EMERGENCY_HOURS),
                events_per_second=normal_eps,
            ),
            Mode(name="campaign", hours=campaign_hours, events_per_second=campaign_eps),
            Mode(
                name="emergency",
                hours=emergency_hours + min(normal_hours, EMERGENCY_HOURS),
                events_per_second=emergency_eps,
            ),
        ),
    )
    other = estimate(emergency, load_prices(prices))
    console.print(
        f"This month: ${result.total:,.2f}. With {EMERGENCY_HOURS:g} more emergency hours in place "
        f"of normal ones: ${other.total:,.2f} (Kinesis ${other.by_service()['Kinesis']:,.2f}, "
        f"Redshift ${other.serverless_warehouse:,.2f})."
    )
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

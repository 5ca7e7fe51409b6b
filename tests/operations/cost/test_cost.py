"""The cost model: dated prices as data, lines that add up, and the sizing the stacks use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ingestion.operations.cost import Mode, Workload, cost, estimate
from ingestion.operations.cost.capacity import billed_fraction, gb_per_day, rpu_for, shards_needed
from ingestion.operations.cost.model import PRICES_FILE, load_prices

TYPICAL = Workload(
    modes=(
        Mode(name="normal", hours=700, events_per_second=800),
        Mode(name="campaign", hours=30, events_per_second=3000),
    )
)


def test_prices_are_dated_and_name_their_region() -> None:
    prices = load_prices()
    assert prices["as_of"] and prices["region"] == "us-west-2"


def test_brief_volumes_come_out_of_the_rates() -> None:
    # 800 events/s of ~3 KB is the brief's 150-250 GB/day; 8,000/s of ~2 KB its 1.5 TB/day.
    assert 150 <= gb_per_day(800, 3.0) <= 250
    assert gb_per_day(8000, 2.2) == pytest.approx(1520, rel=0.01)


def test_peak_sizing_binds_on_write_and_read_bytes_and_asks_for_40_shards() -> None:
    sizing = shards_needed(events_per_second=8000, event_bytes=4096)
    assert sizing.shards == 40
    assert sizing.write_records_shards == 8  # records are never the limit at 4 KB
    assert sizing.binding_limit in {"write bytes", "read bytes"}


def test_redshift_bills_the_whole_hour_when_refreshing_every_minute() -> None:
    assert billed_fraction(60, 20) == 1.0
    assert billed_fraction(600, 20) == pytest.approx(0.1)
    # 4 RPU (the smallest base) keep up with the normal rate; campaigns and emergencies scale.
    assert (rpu_for(800), rpu_for(3000), rpu_for(8000)) == (4, 16, 32)
    assert rpu_for(800, base_rpu=8) == 8


def test_total_is_the_sum_of_its_lines_and_each_line_is_positive() -> None:
    result = estimate(TYPICAL)
    assert result.total == pytest.approx(sum(line.monthly_usd for line in result.lines))
    assert all(line.monthly_usd >= 0 for line in result.lines)
    assert {"Kinesis", "Firehose", "S3", "Redshift Serverless", "MWAA"} <= set(result.by_service())


def test_serverless_warehouse_is_cheaper_than_an_always_on_cluster_sized_for_the_peak() -> None:
    result = estimate(TYPICAL)
    assert result.serverless_warehouse < result.provisioned_warehouse
    assert result.total < result.total_with_provisioned


def test_an_emergency_month_costs_more_than_a_typical_one() -> None:
    emergency = Workload(
        modes=(*TYPICAL.modes, Mode(name="emergency", hours=72, events_per_second=8000))
    )
    assert estimate(emergency).total > estimate(TYPICAL).total


def test_prices_change_the_result_only_through_the_price_file(tmp_path: Path) -> None:
    prices = json.loads(PRICES_FILE.read_text())
    prices["redshift"]["serverless_rpu_hour"] *= 2
    doubled = estimate(TYPICAL, prices)
    assert doubled.serverless_warehouse > estimate(TYPICAL).serverless_warehouse * 1.9


def test_cost_registers_as_a_typer_command_and_prints_the_table() -> None:
    app = typer.Typer()
    app.command("cost")(cost)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["cost", "--emergency-hours", "24"])
    assert result.exit_code == 0, result.output
    assert "Redshift Serverless" in result.output
    assert "provisioned" in result.output
    bad = CliRunner().invoke(app, ["cost", "--stream-mode", "fast"])
    assert bad.exit_code != 0


TYPICAL_MINUTELY = Workload(
    modes=(
        Mode(name="normal", hours=700, events_per_second=800),
        Mode(name="campaign", hours=30, events_per_second=3000),
        Mode(name="emergency", hours=0, events_per_second=8000),
    ),
    refresh_interval_seconds=60,
)


def test_the_levers_bring_a_minutely_month_down_and_each_is_priced() -> None:
    before = estimate(
        Workload(
            modes=TYPICAL_MINUTELY.modes,
            stream_mode="provisioned",
            warehouse_base="fixed",
            mwaa_class="mw1.medium",
        )
    )
    after = estimate(TYPICAL_MINUTELY)
    shared = estimate(Workload(modes=TYPICAL_MINUTELY.modes, orchestration="shared"))

    assert before.by_service()["Kinesis"] > 5 * after.by_service()["Kinesis"]
    assert after.by_service()["Redshift Serverless"] < before.by_service()["Redshift Serverless"]
    assert "JQ" not in " ".join(line.item for line in after.lines)  # the archive uses a Lambda
    assert shared.by_service()["MWAA"] < after.by_service()["MWAA"] / 4
    assert shared.total < after.total < before.total
    # Every mode is priced at the minute cadence: Redshift bills every hour of the month.
    assert all("100% billed" in line.item for line in after.lines if " RPU x " in line.item)


def test_a_typical_month_with_a_refresh_every_minute_is_within_2500_dollars() -> None:
    result = estimate(TYPICAL_MINUTELY)
    assert result.total <= 2_500
    # One task a minute: the smallest MWAA class, which has no extra workers to buy.
    assert [line.item for line in result.lines if line.service == "MWAA"] == [
        "mw1.micro environment"
    ]


def test_the_reserved_base_is_billed_every_hour_and_only_the_rpus_above_it_by_mode() -> None:
    prices = load_prices()
    rpu_hour = prices["redshift"]["serverless_rpu_hour"]
    discount = prices["redshift"]["serverless_reservation_discount"]["all_upfront"]
    reserved = estimate(TYPICAL_MINUTELY)
    on_demand = estimate(Workload(modes=TYPICAL_MINUTELY.modes, warehouse_reserved_rpu=0))
    compute = [line for line in reserved.lines if "RPU" in line.item]
    assert compute[0].monthly_usd == pytest.approx(4 * 730 * rpu_hour * (1 - discount))
    # Normal hours need only the base: no on-demand line; a campaign's 16 RPU bill 12 above it.
    assert [line.item.split(":")[0] for line in compute[1:]] == ["campaign"]
    assert compute[1].monthly_usd == pytest.approx(12 * 30 * rpu_hour)
    saving = on_demand.serverless_warehouse - reserved.serverless_warehouse
    assert saving == pytest.approx(4 * 730 * rpu_hour * discount)

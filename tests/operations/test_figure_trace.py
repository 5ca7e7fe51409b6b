"""`accfb trace` from a figure: every gift, refund and raw record behind a campaign's day and a
closed day, summing to the figure the mart shows, on the real path (stream, archive, dbt)."""

from __future__ import annotations

from datetime import date

from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.config.settings import Settings
from ingestion.operations.close import close, revisions
from ingestion.operations.trace import trace_campaign_day, trace_closed_day
from tests.operations.test_reconcile_and_trace import _env
from tests.support import archive, build, corpus, land, publish, query

DAY = date(2026, 11, 20)


def test_a_campaign_day_and_a_closed_day_trace_to_records_summing_to_the_mart(
    provisioned: Settings,
) -> None:
    publish(provisioned, corpus(seed=17, seconds=2))
    land(provisioned)
    archive(provisioned)
    build(provisioned)
    # The campaign with the most refunds that day, so both kinds of entry are traced.
    [(campaign, mart_net, gifts)] = query(
        provisioned,
        f"""
        select campaign_id, sum(net_amount_cents), count(*) from marts.fct_donations
        where cast(donated_at as date) = '{DAY}'
        group by campaign_id order by sum(refunded_amount_cents) desc, campaign_id limit 1
        """,
    )

    found = trace_campaign_day(provisioned, campaign, DAY)

    assert found.figure_cents == mart_net and found.adds_up
    assert sum(1 for item in found.items if item.kind == "gift") == gifts
    assert any(item.kind == "refund" and item.amount_cents < 0 for item in found.items)
    assert all(item.shard_id and item.sequence_number for item in found.items)
    assert all(
        item.archive_key and item.archive_key.startswith(f"s3://{provisioned.raw_bucket}/raw/")
        for item in found.items
    ), [item for item in found.items if not item.archive_key][:3]

    close(provisioned, DAY)
    closed = trace_closed_day(provisioned, DAY)
    [frozen] = revisions(provisioned, DAY)
    assert closed.figure_cents == frozen.net_amount_cents and closed.adds_up
    assert sum(1 for item in closed.items if item.kind == "gift") == frozen.gift_count
    assert sum(1 for item in closed.items if item.kind == "refund") == frozen.refund_count

    cli = CliRunner().invoke(app, ["trace", "--closed-day", str(DAY)], env=_env(provisioned))
    assert cli.exit_code == 0, cli.output
    assert "equal" in cli.output and "NOT EQUAL" not in cli.output
    cli = CliRunner().invoke(
        app, ["trace", "--campaign", campaign, "--day", str(DAY)], env=_env(provisioned)
    )
    assert cli.exit_code == 0, cli.output
    nothing = CliRunner().invoke(
        app, ["trace", "--campaign", "no-such-campaign", "--day", str(DAY)], env=_env(provisioned)
    )
    assert nothing.exit_code == 1

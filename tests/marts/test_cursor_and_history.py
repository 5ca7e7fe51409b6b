"""The incremental core's cursor and its history, on the real path (producer → moto's Kinesis →
lander → DuckDB → dbt): a backfill that commits late still reaches the marts, a full refresh
after the stream landing lost its history keeps every mart, a refund re-sent under another
gift counts once however the batches fall, and a row whose winning copy moved it to another
group leaves the old one in every aggregate."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ingestion.config import dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.contract import validate_record
from ingestion.demo.report import compare_donations, read_donations
from ingestion.demo.simulator.truth import expected_outcome
from ingestion.replay.loads import load_window
from tests.marts.test_marts_idempotence import LOAD_METADATA, Marts, _marts
from tests.support import (
    archive,
    archived_lines,
    build,
    corpus,
    land,
    publish,
    query,
    window_around_now,
)


def _truth_matches(settings: Settings, records: list[bytes]) -> None:
    comparison = compare_donations(
        expected_outcome(records).donation_amounts(), read_donations(settings.warehouse_path)
    )
    assert comparison.ok, comparison


def test_a_backfill_that_commits_after_later_stream_batches_were_refreshed_reaches_the_marts(
    provisioned: Settings,
) -> None:
    before, outage, after_1, after_2 = (corpus(seed=s) for s in (61, 62, 63, 64))
    publish(provisioned, before)
    land(provisioned)
    build(provisioned)
    publish(provisioned, outage)
    assert archive(provisioned) == len(before) + len(outage)
    ((replay_started,),) = query(provisioned, "select now()")
    # The landing lost the outage's records (they reached only the archive) while the stream
    # kept landing and refreshing: two batches after it.
    publish(provisioned, after_1)
    land(provisioned)
    lost = {(line["shard_id"], line["sequence_number"]) for line in archived_lines(provisioned)}
    with warehouse.connect(provisioned.warehouse_path) as con:
        con.execute("create temp table lost (shard_id varchar, sequence_number varchar)")
        con.executemany("insert into lost values (?, ?)", sorted(lost))
        con.execute(
            "delete from lander.kinesis_records where (shard_id, sequence_number) in "
            "(select (shard_id, sequence_number) from lost) and (shard_id, sequence_number) "
            "not in (select (shard_id, sequence_number) from landing.landed_records)"
        )
    build(provisioned)
    publish(provisioned, after_2)
    land(provisioned)
    build(provisioned)
    # The marts hold exactly what landed: the outage is missing.
    _truth_matches(provisioned, before + after_1 + after_2)

    # The replay's load commits now, after both batches.
    report = load_window(provisioned, window_around_now())
    assert report.loaded == len(before) + len(outage)
    # Redshift stamps a load's rows with its transaction's start; this one ran for an hour, so its
    # rows carry a refresh_time older than every batch refreshed meanwhile.
    with warehouse.connect(provisioned.warehouse_path) as con:
        con.execute(
            "update lander.backfill_records set refresh_time = ?",
            [replay_started - timedelta(hours=1)],
        )
    build(provisioned)

    everything = before + outage + after_1 + after_2
    _truth_matches(provisioned, everything)
    assert query(provisioned, "select count(*) from landing.landed_records") == [(len(everything),)]
    assert query(
        provisioned,
        "select landed_by, count(*), count(distinct landed_batch) from landing.landed_records "
        "group by 1 order by 1",
    ) == [("replay", len(outage), 1), ("stream", len(everything) - len(outage), 3)]


def test_a_full_refresh_after_the_stream_landing_lost_and_reread_its_history_keeps_every_mart(
    provisioned: Settings,
) -> None:
    first, second = corpus(seed=71), corpus(seed=72)
    publish(provisioned, first)
    land(provisioned)
    build(provisioned)
    publish(provisioned, second)
    land(provisioned)
    build(provisioned)
    built = _marts(provisioned, LOAD_METADATA)
    landed = query(provisioned, "select * from landing.landed_records order by all")

    # The streaming view recreated (a schema change forces it on Redshift): it holds only what
    # Kinesis still keeps, the second corpus, re-read under a new refresh time.
    with warehouse.connect(provisioned.warehouse_path) as con:
        ((boundary,),) = con.execute(
            "select min(refresh_time) from lander.kinesis_records "
            "where sequence_number in (select sequence_number from landing.landed_records "
            "where landed_batch = 2)"
        ).fetchall()
        con.execute("delete from lander.kinesis_records where refresh_time < ?", [boundary])
        con.execute("update lander.kinesis_records set refresh_time = now()")
    # The runbook's full refresh, with the landing holding a fraction of the history.
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])

    assert _marts(provisioned, LOAD_METADATA) == built
    # Nothing re-read was appended again, and no published row changed.
    assert query(provisioned, "select * from landing.landed_records order by all") == landed
    _truth_matches(provisioned, first + second)

    # New records after it flow as before.
    third = corpus(seed=73)
    publish(provisioned, third)
    land(provisioned)
    build(provisioned)
    _truth_matches(provisioned, first + second + third)


def _resent(event: dict[str, Any], *, seconds: float, **payload: Any) -> bytes:
    """A re-send under a new event_id, emitted `seconds` after the original (before it, if
    negative: then it wins, the earliest emitted copy does), with `payload` changed."""
    emitted = datetime.fromisoformat(event["emitted_at"].replace("Z", "+00:00"))
    resend = {
        **event,
        "event_id": str(uuid.UUID(int=uuid.UUID(event["event_id"]).int ^ 1)),
        "emitted_at": (emitted + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
        "payload": {**event["payload"], **payload},
    }
    return json.dumps(resend).encode()


def _resent_refund(records: list[bytes], *, seconds: float) -> tuple[bytes, str, str]:
    """A re-send of a refund of the corpus under a new event_id naming another of its gifts,
    emitted `seconds` after the original (before it, if negative)."""
    events = [json.loads(data) for data in records if not validate_record(data)]
    gifts = {e["payload"]["donation_id"] for e in events if e["event_type"] == "donation.completed"}
    refund = next(
        e
        for e in events
        if e["event_type"] == "donation.refunded" and e["payload"]["donation_id"] in gifts
    )
    other_gift = min(gifts - {refund["payload"]["donation_id"]})
    resend = _resent(refund, seconds=seconds, donation_id=other_gift)
    return resend, refund["payload"]["donation_id"], other_gift


def _refund_resent_in_a_later_batch(settings: Settings, seconds: float) -> tuple[Marts, str]:
    records = corpus(seed=81)
    resend, original_gift, other_gift = _resent_refund(records, seconds=seconds)
    publish(settings, records)
    land(settings)
    build(settings)
    publish(settings, [resend])
    land(settings)
    build(settings)
    _truth_matches(settings, [*records, resend])
    incremental = _marts(settings, LOAD_METADATA)
    dbt.run_dbt(settings, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(settings, LOAD_METADATA) == incremental
    winner = original_gift if seconds > 0 else other_gift
    return incremental, winner


def test_a_refund_resent_later_under_another_gift_counts_once_incrementally(
    provisioned: Settings,
) -> None:
    marts, winner = _refund_resent_in_a_later_batch(provisioned, seconds=5)

    refunds = [row for row in marts["fct_donation_ledger"] if "refund" in row]
    assert refunds and len(refunds) == len({row[2] for row in refunds})
    assert query(
        provisioned,
        f"select count(*) from marts.fct_donations where donation_id = '{winner}' and is_refunded",
    ) == [(1,)]


def test_a_refund_resent_under_another_gift_and_emitted_earlier_moves_to_that_gift(
    provisioned: Settings,
) -> None:
    marts, winner = _refund_resent_in_a_later_batch(provisioned, seconds=-5)

    refunds = [row for row in marts["fct_donation_ledger"] if "refund" in row]
    assert refunds and len(refunds) == len({row[2] for row in refunds})
    assert query(
        provisioned,
        f"select count(*) from marts.fct_donations where donation_id = '{winner}' and is_refunded",
    ) == [(1,)]


def _corpus_gifts() -> tuple[list[bytes], list[dict[str, Any]]]:
    """A corpus and its valid gift events, in corpus order."""
    records = corpus(seed=83)
    events = [json.loads(data) for data in records if not validate_record(data)]
    return records, [e for e in events if e["event_type"] == "donation.completed"]


def test_a_gift_resent_earlier_under_another_campaign_moves_in_the_campaign_figures(
    provisioned: Settings,
) -> None:
    records, gifts = _corpus_gifts()
    gift = gifts[0]
    other_campaign = next(
        g["payload"]["campaign_id"]
        for g in gifts
        if g["payload"]["campaign_id"] != gift["payload"]["campaign_id"]
    )
    # Emitted before the original, so it wins (the earliest emitted copy does), in a later batch.
    resend = _resent(gift, seconds=-5, campaign_id=other_campaign)
    publish(provisioned, records)
    land(provisioned)
    build(provisioned)
    progress = (
        "select campaign_id, gift_count, donor_count, net_amount_cents"
        " from marts.agg_campaign_progress"
    )
    before = {row[0]: row[1:] for row in query(provisioned, progress)}
    publish(provisioned, [resend])
    land(provisioned)
    build(provisioned)
    after = {row[0]: row[1:] for row in query(provisioned, progress)}
    moved = {campaign: (after[campaign][0] - before[campaign][0]) for campaign in after}
    assert moved[gift["payload"]["campaign_id"]] == -1
    assert moved[other_campaign] == 1
    assert sum(moved.values()) == 0
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental


def test_a_gift_moved_twice_leaves_the_pair_it_was_counted_in_last(
    provisioned: Settings,
) -> None:
    records, gifts = _corpus_gifts()
    gift = gifts[0]
    campaigns = sorted(
        {g["payload"]["campaign_id"] for g in gifts} - {gift["payload"]["campaign_id"]}
    )
    assert len(campaigns) >= 2, campaigns
    original = int(uuid.UUID(gift["event_id"]))

    def resend(n: int, seconds: float, campaign_id: str) -> bytes:
        # A donor of its own, so the donor counts say which pair the gift is counted in.
        event = {**gift, "event_id": str(uuid.UUID(int=original ^ n))}
        return _resent(event, seconds=seconds, campaign_id=campaign_id, donor_id=f"donor-{n}")

    progress = "select campaign_id, gift_count, donor_count from marts.agg_campaign_progress"
    publish(provisioned, records)
    land(provisioned)
    build(provisioned)
    figures = [{row[0]: row[1:] for row in query(provisioned, progress)}]
    # Each re-send in a batch of its own: the second wins over the first, the third loses.
    for data in (
        resend(2, -5, campaigns[0]),
        resend(4, -10, campaigns[1]),
        resend(6, 20, gift["payload"]["campaign_id"]),
    ):
        publish(provisioned, [data])
        land(provisioned)
        build(provisioned)
        figures.append({row[0]: row[1:] for row in query(provisioned, progress)})

    def moved(step: int) -> dict[str, tuple[int, int]]:
        before, after = figures[step - 1], figures[step]
        return {
            campaign: (
                after[campaign][0] - before[campaign][0],
                after[campaign][1] - before[campaign][1],
            )
            for campaign in after
            if after[campaign] != before.get(campaign)
        }

    home = gift["payload"]["campaign_id"]
    assert moved(1)[campaigns[0]] == (1, 1)
    assert moved(1)[home][0] == -1
    # From the first re-send's pair, not from the original's: that one was left a batch ago.
    assert moved(2) == {campaigns[0]: (-1, -1), campaigns[1]: (1, 1)}
    assert moved(3) == {}
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental


def test_a_gift_resent_earlier_on_another_day_moves_in_the_daily_close(
    provisioned: Settings,
) -> None:
    """The close sums the ledger per day and batch (int_ledger_daily): the winning re-send's
    rewrite deletes the gift's entries from the first batch, which is recorded and re-summed."""
    records, gifts = _corpus_gifts()
    gift = gifts[0]
    occurred = datetime.fromisoformat(gift["occurred_at"].replace("Z", "+00:00"))
    day, day_before = occurred.date(), occurred.date() - timedelta(days=1)
    moved_gift = {
        **gift,
        "occurred_at": (occurred - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
    }
    close = "select close_date, gift_count, gross_amount_cents from marts.rpt_daily_close"
    publish(provisioned, records)
    land(provisioned)
    build(provisioned)
    before = {row[0]: row[1:] for row in query(provisioned, close)}
    ((first_batch,),) = query(
        provisioned, "select max(landed_batch) from marts.fct_donation_ledger"
    )
    publish(provisioned, [_resent(moved_gift, seconds=-5)])
    land(provisioned)
    build(provisioned)
    after = {row[0]: row[1:] for row in query(provisioned, close)}

    amount = gift["payload"]["amount_cents"]
    assert after[day] == (before[day][0] - 1, before[day][1] - amount)
    gifts_before, gross_before = before.get(day_before, (0, 0))
    assert after[day_before] == (gifts_before + 1, gross_before + amount)
    assert query(
        provisioned,
        "select landed_batch from lander.rewritten_batches where model = 'fct_donation_ledger'",
    ) == [(first_batch,)]
    parts = (
        "select entry_date, landed_batch, gross_amount_cents, refunded_amount_cents, fee_cents,"
        " gift_count, refund_count, entry_count from intermediate.int_ledger_daily"
        " where entry_count > 0 order by all"
    )
    from_the_ledger = (
        "select entry_date, landed_batch,"
        " sum(case when entry_type = 'gift' then amount_cents else 0 end),"
        " -sum(case when entry_type = 'refund' then amount_cents else 0 end),"
        " -sum(case when entry_type = 'fee' then amount_cents else 0 end),"
        " count(*) filter (where entry_type = 'gift'),"
        " count(*) filter (where entry_type = 'refund'),"
        " count(*) from marts.fct_donation_ledger group by all order by all"
    )
    assert query(provisioned, parts) == query(provisioned, from_the_ledger)
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental


def _copy(event: dict[str, Any], key: str, **payload: Any) -> dict[str, Any]:
    """The event under a new event id and business key, with `payload` changed."""
    return {
        **event,
        "event_id": str(uuid.uuid4()),
        "payload": {**event["payload"], key: str(uuid.uuid4()), **payload},
    }


def test_a_shipment_and_a_report_resent_earlier_elsewhere_leave_their_old_groups(
    provisioned: Settings,
) -> None:
    records = corpus(seed=89)
    events = [json.loads(data) for data in records if not validate_record(data)]
    first_shipment = next(e for e in events if e["event_type"] == "inventory.shipped")
    first_report = next(e for e in events if e["event_type"] == "partner.distribution_reported")
    # Each alone in its group: a site no other movement names, a day no other report names.
    shipment = _copy(first_shipment, "shipment_id", site_id="lone-site")
    report = _copy(first_report, "report_id", service_date="2020-01-01")
    publish(provisioned, [*records, json.dumps(shipment).encode(), json.dumps(report).encode()])
    land(provisioned)
    build(provisioned)
    on_hand = "select site_id, category, on_hand_lbs from marts.agg_inventory_on_hand"
    before = {(site, category): lbs for site, category, lbs in query(provisioned, on_hand)}
    assert ("lone-site", shipment["payload"]["category"]) in before

    home = first_shipment["payload"]["site_id"]
    publish(
        provisioned,
        [
            _resent(shipment, seconds=-5, site_id=home),
            _resent(report, seconds=-5, service_date="2020-01-02"),
        ],
    )
    land(provisioned)
    build(provisioned)

    after = {(site, category): lbs for site, category, lbs in query(provisioned, on_hand)}
    category = shipment["payload"]["category"]
    assert ("lone-site", category) not in after
    lbs = Decimal(str(shipment["payload"]["lbs"]))
    assert after[(home, category)] == before[(home, category)] - lbs
    days = query(
        provisioned,
        "select service_date, report_count, households_served from marts.agg_distribution_daily"
        " where service_date < date '2021-01-01'",
    )
    assert days == [(date(2020, 1, 2), 1, report["payload"]["households_served"])]
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental


def test_with_no_batch_bound_on_the_probes_re_sends_still_build_what_a_full_build_does(
    provisioned: Settings,
) -> None:
    """A probe whose keys are spread over more batches than `probe_batch_limit` reads its table
    whole (macros/batch_cursor.sql, batches_holding): with the limit at 0 every probe takes that
    path, and a gift and a refund re-sent in a later batch still count once."""
    records = corpus(seed=83)
    events = [json.loads(data) for data in records if not validate_record(data)]
    gift = next(e for e in events if e["event_type"] == "donation.completed")
    refund = next(e for e in events if e["event_type"] == "donation.refunded")
    unbounded = ["build", "--select", "@stream_events", "--vars", "{probe_batch_limit: 0}"]
    publish(provisioned, records)
    land(provisioned)
    dbt.run_dbt(provisioned, unbounded)
    resends = [_resent(gift, seconds=-5), _resent(refund, seconds=-5)]
    publish(provisioned, resends)
    land(provisioned)
    dbt.run_dbt(provisioned, unbounded)
    _truth_matches(provisioned, [*records, *resends])
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental


def _shifted(event: dict[str, Any], key: str, *, hours: float) -> dict[str, Any]:
    """A new order or shipment like `event`, under new ids, placed `hours` after it."""
    occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
    placed = (occurred + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
    return {**_copy(event, key), "occurred_at": placed}


def test_a_late_order_and_shipments_moved_to_another_partner_refill_their_queues(
    provisioned: Settings,
) -> None:
    """rpt_open_partner_orders rewrites only the orders whose unfilled pounds can change
    (int_partner_order_queue, the fill's boundaries). An order placed before every other of its
    pair takes the head of the queue, so the pair's shipments fill it first; a shipment re-sent
    under another partner leaves its old pair's orders short, a pair it had filled whole among
    them, and fills the new pair's. Each pair's unfilled pounds move by exactly those pounds,
    and every mart is what a full build gives."""
    records = corpus(seed=101)
    events = [json.loads(data) for data in records if not validate_record(data)]

    def pair(event: dict[str, Any]) -> tuple[str, str]:
        return event["payload"]["partner_id"], event["payload"]["site_id"]

    orders = [e for e in events if e["event_type"] == "partner.order_placed"]
    shipments = [e for e in events if e["event_type"] == "inventory.shipped"]
    # A pair one shipment fills whole: more pounds than its orders (every copy) ask for. The
    # pair with the most orders, so that moving that shipment away reopens some wholly.
    filled = max(sorted({pair(e) for e in orders}), key=[pair(e) for e in orders].count)
    asked = sum(Decimal(str(e["payload"]["requested_lbs"])) for e in orders if pair(e) == filled)
    base = _copy(shipments[0], "shipment_id")
    filler = {
        **base,
        "payload": {
            **base["payload"],
            "partner_id": filled[0],
            "site_id": filled[1],
            "lbs": float(asked + 1),
        },
    }
    publish(provisioned, [*records, json.dumps(filler).encode()])
    land(provisioned)
    build(provisioned)
    unfilled = (
        "select partner_id, site_id, sum(unfilled_lbs) from marts.rpt_open_partner_orders"
        " group by partner_id, site_id"
    )
    before = {(partner, site): lbs for partner, site, lbs in query(provisioned, unfilled)}
    assert filled not in before

    shipment = next(e for e in shipments if pair(e) in before and pair(e) != filled)
    shipped_from = pair(shipment)
    shipped_to = next(p for p in before if p[1] == shipped_from[1] and p[0] != shipped_from[0])
    order = next(
        e for e in orders if pair(e) in before and pair(e) not in (shipped_from, shipped_to, filled)
    )
    head = _shifted(order, "order_id", hours=-24)
    publish(
        provisioned,
        [
            json.dumps(head).encode(),
            _resent(shipment, seconds=-5, partner_id=shipped_to[0]),
            _resent(filler, seconds=-5, partner_id="ptr-elsewhere"),
        ],
    )
    land(provisioned)
    build(provisioned)

    after = {(partner, site): lbs for partner, site, lbs in query(provisioned, unfilled)}
    requested = Decimal(str(head["payload"]["requested_lbs"]))
    lbs = Decimal(str(shipment["payload"]["lbs"]))
    assert after[pair(order)] == before[pair(order)] + requested
    assert after[shipped_from] == before[shipped_from] + lbs
    assert after.get(shipped_to, Decimal(0)) == max(before[shipped_to] - lbs, Decimal(0))
    ((reopened,),) = query(
        provisioned,
        "select coalesce(sum(requested_lbs), 0) - coalesce(-sum(shipped), 0) from ("
        " select requested_lbs, 0 as shipped from intermediate.int_partner_order_queue"
        f" where partner_id = '{filled[0]}' and site_id = '{filled[1]}'"
        " union all select 0, signed_lbs from marts.fct_inventory_movements"
        f" where movement_type = 'shipment' and partner_id = '{filled[0]}'"
        f" and site_id = '{filled[1]}')",
    )
    assert reopened > 0
    assert after[filled] == reopened
    wholly = query(
        provisioned,
        "select count(*) from marts.rpt_open_partner_orders"
        f" where partner_id = '{filled[0]}' and site_id = '{filled[1]}'"
        " and unfilled_lbs = requested_lbs",
    )
    assert wholly[0][0] > 0
    # At the head of its queue, the order takes the pair's shipments first.
    partner, site = pair(order)
    ((shipped,),) = query(
        provisioned,
        "select coalesce(-sum(signed_lbs), 0) from marts.fct_inventory_movements"
        f" where movement_type = 'shipment' and partner_id = '{partner}' and site_id = '{site}'",
    )
    heads = query(
        provisioned,
        "select unfilled_lbs from marts.rpt_open_partner_orders"
        f" where order_id = '{head['payload']['order_id']}'",
    )
    assert heads == ([(requested - shipped,)] if shipped < requested else [])
    incremental = _marts(provisioned, LOAD_METADATA)
    dbt.run_dbt(provisioned, ["build", "--select", "@stream_events", "--full-refresh"])
    assert _marts(provisioned, LOAD_METADATA) == incremental

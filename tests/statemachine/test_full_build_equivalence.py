"""Every figure equals a full rebuild, whatever arrives and whatever is corrected.

A Hypothesis state machine drives the pipeline's real paths (tests/statemachine/pipeline.py)
with random sequences of what happens in production: new events of every type, redeliveries,
re-sends under a new event_id that move a gift, refunds before and after their gift,
conflicting redeliveries, a poller's re-poll, CRM and settlement exports and their corrections
under the same key (changed, withdrawn and moved rows) or under a later key, a replay of the
archive, a full refresh of one fact alone, and the close of a past day followed by late gifts
to it. Each step ends with the incremental refresh the pipeline runs every minute.

Invariant after every step: every public mart and every `int_` model equals, column by column,
a build from nothing of the same landing tables in another DuckDB file. Excluded columns
(pipeline.BOOKKEEPING) are the models' cursors and load times: batch, load and pass numbers and
the times rows were loaded, which number the increments in the order they ran (a full build
lands everything as batch 1). The parts-per-batch models (pipeline.SUMMED_PARTS) are compared
by their sums per group, since a full build has one part per group and the increments one per
batch. marts.rpt_closed_days is the history of closes and is not compared.

Profiles: `fast` (the default, in `make test`) runs a couple of short sequences; the nightly
run is `pytest -m statemachine tests/statemachine --hypothesis-profile=long --log-cli-level=INFO`
(each sequence that passes logs a line).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ingestion.config import dbt
from ingestion.config.settings import Settings
from ingestion.demo.simulator import catalog
from ingestion.demo.simulator.clock import to_micros, utc_text
from ingestion.demo.simulator.events import EventFactory
from ingestion.demo.simulator.faults import compact_json
from ingestion.demo.simulator.profiles import PROFILES
from ingestion.demo.simulator.settlements import COLUMNS as SETTLEMENT_COLUMNS
from ingestion.edge import poller
from ingestion.operations.close import close
from tests.marts.support import crm_export
from tests.statemachine.pipeline import Pipeline

pytestmark = [pytest.mark.statemachine, pytest.mark.pipeline]
log = logging.getLogger(__name__)

START = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)
DAYS = 3
STREAM_TYPES = (
    "donation.completed",
    "crm.donor_upserted",
    "inventory.received",
    "inventory.shipped",
    "inventory.adjusted",
    "partner.order_placed",
    "partner.distribution_reported",
)
PROFILE = PROFILES["normal"]
# Facts a full refresh of one model alone rebuilds, leaving the models around them as they are.
FACTS = (
    "fct_donations",
    "fct_donation_ledger",
    "fct_inventory_movements",
    "fct_partner_distributions",
)
SETTLEMENT_KEYS = ("2026-11-22", "2026-11-23")
CRM_KEYS = ("donors-2026-11-21", "donors-2026-11-22")

Event = dict[str, Any]


def _emitted(event: Event, at: datetime) -> bytes:
    return compact_json({**event, "emitted_at": at.isoformat(timespec="milliseconds")})


def _settlement_csv(rows: list[tuple[Any, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SETTLEMENT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


class FullBuildEquivalence(RuleBasedStateMachine):
    """One warehouse, fed step by step; after each step it must equal a build from nothing."""

    root: Path
    endpoint: str

    def __init__(self) -> None:
        super().__init__()
        suffix = uuid.uuid4().hex[:10]
        home = self.root / suffix
        self.pipeline = Pipeline.provision(
            Settings(
                aws_endpoint_url=self.endpoint,
                state_dir=self.root / "state",
                warehouse_path=home / "warehouse.duckdb",
                stream_name=f"sm-{suffix}",
                raw_bucket=f"sm-{suffix}",
                stream_shards=2,
            )
        )
        self.events = EventFactory(Random(0))
        self.gifts: list[Event] = []
        self.held_gifts: list[Event] = []
        self.sent: list[bytes] = []
        self.polled: list[dict[str, Any]] = []
        self.settlements: dict[str, list[tuple[Any, ...]]] = {}
        self.crm: dict[str, list[tuple[str, str, str, bool, datetime]]] = {}
        self.clock = datetime.now(UTC)
        self.steps = 0
        self.checked = 0

    # What a step sends, stamped as producers stamp it.

    def _now(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _send(self, records: list[bytes]) -> None:
        self.sent.extend(records)
        self.pipeline.send(records)

    def _occurred(self, offset: float) -> int:
        return to_micros(START + timedelta(days=DAYS * offset))

    def _refresh(self) -> None:
        self.steps += 1
        self.pipeline.refresh()

    @initialize(seed=st.integers(0, 2**32 - 1))
    def seed_factory(self, seed: int) -> None:
        self.events = EventFactory(Random(seed))

    @rule(
        types=st.lists(st.sampled_from(STREAM_TYPES), min_size=1, max_size=8),
        offsets=st.lists(st.floats(0, 0.999), min_size=8, max_size=8),
    )
    def new_events(self, types: list[str], offsets: list[float]) -> None:
        records = []
        for event_type, offset in zip(types, offsets, strict=False):
            event = self.events.build(event_type, PROFILE, self._occurred(offset))
            if event_type == "donation.completed":
                self.gifts.append(event)
            records.append(_emitted(event, self._now()))
        self._send(records)
        self._refresh()

    @precondition(lambda self: self.sent)
    @rule(which=st.integers(0))
    def redeliver(self, which: int) -> None:
        self._send([self.sent[which % len(self.sent)]])
        self._refresh()

    @precondition(lambda self: self.gifts)
    @rule(
        which=st.integers(0),
        campaign=st.sampled_from([c.campaign_id for c in catalog.CAMPAIGNS]),
        days=st.integers(-1, 1),
        later=st.booleans(),
    )
    def resend_moved_gift(self, which: int, campaign: str, days: int, later: bool) -> None:
        """The platform re-sends a gift under a new event_id with another campaign or day."""
        gift = self.gifts[which % len(self.gifts)]
        occurred = datetime.fromisoformat(gift["occurred_at"]) + timedelta(days=days)
        copy = {
            **gift,
            "event_id": self.events.uuid(),
            "occurred_at": utc_text(to_micros(occurred), "milliseconds"),
            "payload": {**gift["payload"], "campaign_id": campaign},
        }
        emitted = self._now() + (timedelta(minutes=1) if later else -timedelta(hours=1))
        self._send([_emitted(copy, emitted)])
        self._refresh()

    @precondition(lambda self: self.gifts)
    @rule(which=st.integers(0))
    def refund_after_gift(self, which: int) -> None:
        gift = self.gifts[which % len(self.gifts)]
        refund = self.events.refund(
            gift["payload"]["donation_id"],
            gift["payload"]["amount_cents"],
            to_micros(datetime.fromisoformat(gift["occurred_at"]) + timedelta(hours=2)),
        )
        self._send([_emitted(refund, self._now())])
        self._refresh()

    @rule(offset=st.floats(0, 0.9))
    def refund_before_gift(self, offset: float) -> None:
        gift = self.events.build("donation.completed", PROFILE, self._occurred(offset))
        refund = self.events.refund(
            gift["payload"]["donation_id"],
            gift["payload"]["amount_cents"],
            self._occurred(offset) + 3_600_000_000,
        )
        self.held_gifts.append(gift)
        self._send([_emitted(refund, self._now())])
        self._refresh()

    @precondition(lambda self: self.held_gifts)
    def send_held_gift(self) -> None:
        gift = self.held_gifts.pop()
        self.gifts.append(gift)
        self._send([_emitted(gift, self._now())])
        self._refresh()

    send_held_gift = rule()(send_held_gift)

    @precondition(lambda self: self.gifts)
    @rule(which=st.integers(0), cents=st.integers(1, 500))
    def conflicting_redelivery(self, which: int, cents: int) -> None:
        """The same event_id and emitted_at again, with another amount."""
        gift = self.gifts[which % len(self.gifts)]
        payload = {**gift["payload"], "amount_cents": gift["payload"]["amount_cents"] + cents}
        emitted = [
            json.loads(r) for r in self.sent if json.loads(r)["event_id"] == gift["event_id"]
        ]
        stamp = datetime.fromisoformat(emitted[0]["emitted_at"]) if emitted else self._now()
        self._send([_emitted({**gift, "payload": payload}, stamp)])
        self._refresh()

    @rule(offsets=st.lists(st.floats(0, 0.999), min_size=1, max_size=3), repoll=st.booleans())
    def poll_partner_api(self, offsets: list[float], repoll: bool) -> None:
        """The poller's envelope around API items; a re-poll stamps the same items again."""
        if repoll and self.polled:
            items = self.polled[-len(offsets) :]
        else:
            items = []
            for offset in offsets:
                event = self.events.build("partner.order_placed", PROFILE, self._occurred(offset))
                items.append(
                    {
                        "id": event["payload"]["order_id"],
                        "type": event["event_type"],
                        "occurred_at": event["occurred_at"],
                        "data": event["payload"],
                    }
                )
            self.polled.extend(items)
        self._send([poller.envelope("partner_api", item, self._now()) for item in items])
        self._refresh()

    @precondition(lambda self: self.gifts)
    @rule(
        key=st.sampled_from(CRM_KEYS),
        picks=st.lists(st.integers(0), max_size=4),
        major=st.booleans(),
    )
    def crm_export(self, key: str, picks: list[int], major: bool) -> None:
        """A CRM export of donors the stream named; re-dropped under a used key, it is a
        correction that changes and withdraws rows, every one when it holds only its header."""
        donors = {g["payload"]["donor_id"]: g["payload"]["donor"] for g in self.gifts}
        ids = sorted(donors)
        updated = START + timedelta(days=1, hours=len(self.crm.get(key, [])))
        rows = [
            (ids[pick], donors[ids[pick]]["name"], donors[ids[pick]]["email"], major, updated)
            for pick in sorted({p % len(ids) for p in picks})
        ]
        self.crm[key] = rows
        self.pipeline.drop(f"landing/crm/{key}.csv", crm_export(rows))
        self.pipeline.load("crm")
        self._refresh()

    @precondition(lambda self: self.gifts)
    @rule(
        key=st.sampled_from(SETTLEMENT_KEYS),
        picks=st.lists(st.integers(0), min_size=1, max_size=5),
    )
    def settlement_export(self, key: str, picks: list[int]) -> None:
        """The processors settle some gifts, each a day after it, under a dated key."""
        rows = list(self.settlements.get(key, []))
        for pick in sorted({p % len(self.gifts) for p in picks}):
            payload = self.gifts[pick]["payload"]
            if any(row[1] == payload["processor_txn_id"] for row in rows):
                continue
            gift = self.gifts[pick]
            settled = datetime.fromisoformat(gift["occurred_at"]) + timedelta(days=1)
            rows.append(
                (
                    payload["processor"],
                    payload["processor_txn_id"],
                    payload["amount_cents"],
                    payload["fee_cents"],
                    payload["amount_cents"] - payload["fee_cents"],
                    f"po-{payload['processor']}-{settled:%Y%m%d}",
                    settled.isoformat(),
                )
            )
        self._drop_settlements(key, rows)

    @precondition(lambda self: self.settlements)
    @rule(
        which=st.integers(0),
        action=st.sampled_from(("lower", "withdraw", "move", "withdraw_all")),
        later_key=st.booleans(),
    )
    def settlement_correction(self, which: int, action: str, later_key: bool) -> None:
        """A processor corrects a leg: re-drops the export under the same key, or corrects it
        under a later-dated key; or re-drops it with its header only, withdrawing every leg."""
        key = sorted(self.settlements)[which % len(self.settlements)]
        rows = list(self.settlements[key])
        if not rows:
            return
        if action == "withdraw_all":
            self._drop_settlements(key, [])
            return
        index = which % len(rows)
        processor, txn, gross, fee, _net, payout, settled_text = rows[index]
        if action == "withdraw":
            del rows[index]
        elif action == "lower":
            rows[index] = (
                processor,
                txn,
                gross - 100,
                fee,
                gross - 100 - fee,
                payout,
                settled_text,
            )
        else:
            settled = datetime.fromisoformat(settled_text) + timedelta(days=1)
            rows[index] = (processor, txn, gross, fee, gross - fee, payout, settled.isoformat())
        if later_key and action != "withdraw":
            later = f"{date.fromisoformat(max(SETTLEMENT_KEYS)) + timedelta(days=1 + which % 2)}"
            self._drop_settlements(later, [rows[index]])
        else:
            self._drop_settlements(key, rows)

    def _drop_settlements(self, key: str, rows: list[tuple[Any, ...]]) -> None:
        self.settlements[key] = rows
        self.pipeline.drop(f"landing/settlements/{key}.csv", _settlement_csv(rows))
        self.pipeline.load("settlements")
        self._refresh()

    @precondition(lambda self: self.sent)
    @rule()
    def replay_archive(self) -> None:
        self.pipeline.replay_everything()
        self._refresh()

    @precondition(lambda self: self.sent)
    @rule(model=st.sampled_from(FACTS))
    def full_refresh_one_fact(self, model: str) -> None:
        self.pipeline.refresh(["run", "--select", model, "--full-refresh"])
        self._refresh()

    @precondition(lambda self: self.sent)
    @rule(day=st.integers(0, DAYS - 1), late=st.integers(1, 3))
    def close_day_then_late_gifts(self, day: int, late: int) -> None:
        closed = (START + timedelta(days=day)).date()
        close(self.pipeline.settings, closed)
        records = []
        for n in range(late):
            occurred = to_micros(datetime.combine(closed, datetime.min.time(), UTC)) + n * 10**9
            gift = self.events.build("donation.completed", PROFILE, occurred + 3_600 * 10**6)
            self.gifts.append(gift)
            records.append(_emitted(gift, self._now()))
        self._send(records)
        self._refresh()

    def teardown(self) -> None:
        # A long run makes hundreds of warehouses: each goes when its sequence ends.
        log.info(
            "sequence ended: %d steps, %d of them checked equal to a full build",
            self.steps,
            self.checked,
        )
        shutil.rmtree(self.pipeline.settings.warehouse_path.parent, ignore_errors=True)

    @invariant()
    def equals_a_full_build(self) -> None:
        if not self.steps:
            return
        differences = self.pipeline.full_build_differences()
        assert not differences, _describe(differences)
        self.checked += 1


def _describe(differences: dict[str, tuple[list[Any], list[Any]]]) -> str:
    lines = []
    for name, (here, full) in differences.items():
        lines.append(f"{name}: {len(here)} rows only incremental, {len(full)} only in a full build")
        lines.extend(f"  incremental: {row}" for row in here[:3])
        lines.extend(f"  full build:  {row}" for row in full[:3])
    return "\n".join(lines)


def test_incremental_marts_equal_a_full_build(
    request: pytest.FixtureRequest, aws_endpoint: str, tmp_path: Path
) -> None:
    FullBuildEquivalence.root = tmp_path
    FullBuildEquivalence.endpoint = aws_endpoint
    # Other Hypothesis tests keep the default profile; this one runs `fast` unless told `long`.
    profile = "long" if request.config.getoption("hypothesis_profile") == "long" else "fast"
    # One parse of the project for every sequence: each has its own stream name, which dbt's
    # partial parse takes for a change of the project's vars and answers with a full parse.
    with dbt.parsed_once():
        run_state_machine_as_test(
            FullBuildEquivalence,
            settings=settings(
                settings.get_profile(profile),
                suppress_health_check=list(HealthCheck),
                deadline=None,
            ),
        )

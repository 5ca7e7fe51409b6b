"""The simulator: a deterministic, paced stream of food-bank events with realistic faults."""

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from random import Random
from typing import Any

from ingestion.contract import partition_key
from ingestion.demo.simulator.clock import to_datetime, to_micros, utc_text
from ingestion.demo.simulator.events import Event, EventFactory
from ingestion.demo.simulator.faults import FaultRates, Malformer, compact_json
from ingestion.demo.simulator.profiles import Phase, Profile

# What made a record: "valid" when nothing did.
KINDS = (
    "valid",
    "drift",  # valid, with extra fields the contract does not know (yet)
    "late",
    "out_of_order",
    "refund_before_gift",  # the refund, emitted before its gift
    "deferred_gift",  # that gift, emitted after its refund
    "redelivery",  # the same bytes again
    "resend",  # the same business event under a new event_id
    "malformed",
)

_SECOND_US = 1_000_000
_MINUTE_US = 60 * _SECOND_US
_HOUR_US = 60 * _MINUTE_US
_DAY_US = 24 * _HOUR_US

# Delays in microseconds: a producer's retry comes within seconds; a source re-sending a
# business event, or a gift held up behind its refund, within a minute. Short, bounded delays
# keep the pending queue small (rate x delay) even at 8,000 events/s.
_SOURCE_LATENCY = (50_000, 3 * _SECOND_US)
_REDELIVERY_DELAY = (200_000, 5 * _SECOND_US)
_RESEND_DELAY = (_SECOND_US, 60 * _SECOND_US)
_DEFERRED_GIFT_DELAY = (2 * _SECOND_US, 30 * _SECOND_US)
_GIFT_BEFORE_REFUND = (_MINUTE_US, 10 * _MINUTE_US)
_OUT_OF_ORDER_JITTER = (_MINUTE_US, 15 * _MINUTE_US)
# Late events are later than any out-of-order jitter, so the two faults stay distinguishable.
_LATE_MIN = _HOUR_US
# Refunds are drawn from a random sample of recent gifts, not the whole run (bounded memory).
_GIFT_WINDOW = 4_096

_EXTRA_ENVELOPE_FIELDS = ("trace_id", "producer", "region")
_EXTRA_PAYLOAD_FIELDS = ("utm_source", "tribute", "notes", "lot_number", "client_version")


_DEFAULT_FAULTS = FaultRates()


@dataclass(frozen=True)
class SimRecord:
    """One record to put on the stream, and when."""

    data: bytes  # exactly what goes on the stream (UTF-8 JSON, or garbage for some malformed)
    partition_key: str  # ingestion.contract.partition_key(data)
    # When to send it (virtual clock, UTC). For a redelivery this is the re-send time, while
    # the emitted_at inside data is still the first attempt's: the bytes are identical.
    emitted_at: datetime
    kind: str  # one of KINDS


class Simulator:
    """Deterministic event source: the same seed, start, faults and schedule give the same bytes.

    Record i of a phase is due at phase start + i / events_per_second, and a fresh record's
    emitted_at is exactly that instant, so a driver that sends each record at its emitted_at in
    real time reproduces the profile's rate and true freshness.
    """

    def __init__(self, *, seed: int, start: datetime, faults: FaultRates = _DEFAULT_FAULTS) -> None:
        self._seed = seed
        self._start_us = to_micros(start)
        self._faults = faults

    def generate(self, schedule: Sequence[Phase]) -> Iterator[SimRecord]:
        """Records in emission order; after the schedule, records still owed (a gift deferred
        behind its refund, a pending redelivery) follow at the last phase's rate."""
        # S311: a seeded generator for a repeatable simulation, not security.
        run = _Run(Random(self._seed), self._faults)  # noqa: S311
        phase_start = self._start_us
        rate = 1
        for phase in schedule:
            rate = phase.profile.events_per_second
            for index in range(round(phase.seconds * rate)):
                yield run.next_record(phase_start + index * _SECOND_US // rate, phase.profile)
            phase_start += round(phase.seconds * _SECOND_US)
        yield from run.drain(phase_start, rate)


class _Run:
    """The state of one generate() call; bounded by the gift window and the pending queue."""

    def __init__(self, rng: Random, faults: FaultRates) -> None:
        self._rng = rng
        self._faults = faults
        self._factory = EventFactory(rng)
        self._malformer = Malformer(rng)
        # (due, sequence, kind, bytes to redeliver or event to re-send); sequence breaks ties
        # so the heap never compares the last two.
        self._pending: list[tuple[int, int, str, Any]] = []
        self._sequence = 0
        self._gifts: list[tuple[str, int]] = []
        self._malformed_below = faults.malformed
        self._drift_below = self._malformed_below + faults.schema_drift
        self._late_below = self._drift_below + faults.late
        self._out_of_order_below = self._late_below + faults.out_of_order
        self._late_max = max(int(faults.late_max_days * _DAY_US), 2)

    def next_record(self, now: int, profile: Profile) -> SimRecord:
        if self._pending and self._pending[0][0] <= now:
            return self._emit_pending(now)
        return self._fresh(now, profile)

    def drain(self, now: int, rate: int) -> Iterator[SimRecord]:
        while self._pending:
            now = max(now, self._pending[0][0])
            yield self._emit_pending(now)
            now += _SECOND_US // rate

    def _between(self, bounds: tuple[int, int]) -> int:
        return self._rng.randint(*bounds)

    def _schedule(self, due: int, kind: str, item: Any) -> None:
        self._sequence += 1
        heapq.heappush(self._pending, (due, self._sequence, kind, item))

    def _fresh(self, now: int, profile: Profile) -> SimRecord:
        rng = self._rng
        factory = self._factory
        event_type = factory.event_type(profile)
        if event_type == "donation.refunded" and not self._gifts:
            event_type = "donation.completed"  # nothing to refund yet
        draw = rng.random()
        if draw < self._malformed_below:
            kind = "malformed"
        elif draw < self._drift_below:
            kind = "drift"
        elif draw < self._late_below:
            kind = "late"
        elif draw < self._out_of_order_below:
            kind = "out_of_order"
        else:
            kind = "valid"

        if kind == "late":
            occurred = now - rng.randint(min(_LATE_MIN, self._late_max // 2), self._late_max - 1)
        elif kind == "out_of_order":
            occurred = now - self._between(_OUT_OF_ORDER_JITTER)
        else:
            occurred = now - self._between(_SOURCE_LATENCY)

        if event_type == "donation.refunded":
            event = factory.refund(*self._take_gift(), occurred)
        elif (
            event_type == "donation.completed"
            and kind == "valid"
            and rng.random() < self._faults.refund_before_gift
        ):
            return self._refund_before_gift(now, profile, occurred)
        else:
            event = factory.build(event_type, profile, occurred)

        if kind == "malformed":
            event["emitted_at"] = utc_text(now)
            data = self._malformer.malform(event)
            return SimRecord(data, partition_key(data), to_datetime(now), kind)
        if kind == "drift":
            self._add_unknown_fields(event)
        if event_type == "donation.completed":
            payload = event["payload"]
            self._keep_gift(payload["donation_id"], payload["amount_cents"])
        return self._emit_valid(event, now, kind)

    def _refund_before_gift(self, now: int, profile: Profile, occurred: int) -> SimRecord:
        """Emit a refund now and hold its gift back a few seconds: the gift happened first,
        but the platform's refund webhook beat the gift's event onto the stream."""
        gift = self._factory.build(
            "donation.completed", profile, occurred - self._between(_GIFT_BEFORE_REFUND)
        )
        payload = gift["payload"]
        refund = self._factory.refund(payload["donation_id"], payload["amount_cents"], occurred)
        self._schedule(now + self._between(_DEFERRED_GIFT_DELAY), "deferred_gift", gift)
        return self._emit_valid(refund, now, "refund_before_gift")

    def _emit_valid(self, event: Event, now: int, kind: str) -> SimRecord:
        event["emitted_at"] = utc_text(now)
        data = compact_json(event)
        rng = self._rng
        if rng.random() < self._faults.redelivery:
            self._schedule(now + self._between(_REDELIVERY_DELAY), "redelivery", data)
        if rng.random() < self._faults.resend_new_event_id:
            self._schedule(now + self._between(_RESEND_DELAY), "resend", event)
        return SimRecord(data, partition_key(data), to_datetime(now), kind)

    def _emit_pending(self, now: int) -> SimRecord:
        _, _, kind, item = heapq.heappop(self._pending)
        if kind == "redelivery":
            return SimRecord(item, partition_key(item), to_datetime(now), kind)
        if kind == "deferred_gift":
            return self._emit_valid(item, now, kind)
        # A re-send is a new event as far as the producer knows: new id, new emitted_at. It is
        # not itself re-sent again, which keeps the pending queue bounded.
        resent = dict(item, event_id=self._factory.uuid(), emitted_at=utc_text(now))
        data = compact_json(resent)
        return SimRecord(data, partition_key(data), to_datetime(now), kind)

    def _keep_gift(self, donation_id: str, amount_cents: int) -> None:
        if len(self._gifts) < _GIFT_WINDOW:
            self._gifts.append((donation_id, amount_cents))
        else:
            # Replacing a random slot keeps a sample that reaches back past the latest few
            # thousand gifts.
            self._gifts[self._rng.randrange(_GIFT_WINDOW)] = (donation_id, amount_cents)

    def _take_gift(self) -> tuple[str, int]:
        """Remove and return a random recent gift, so no gift is refunded twice (and refunds
        of one gift can never exceed it)."""
        gifts = self._gifts
        index = self._rng.randrange(len(gifts))
        gifts[index], gifts[-1] = gifts[-1], gifts[index]
        return gifts.pop()

    def _add_unknown_fields(self, event: Event) -> None:
        """Additive schema drift: fields the contract does not (yet) know, which must pass."""
        rng = self._rng
        where = rng.random()
        if where < 0.6:
            name = rng.choice(_EXTRA_ENVELOPE_FIELDS)
            event[name] = self._extra_value(name)
        if where >= 0.4:
            name = rng.choice(_EXTRA_PAYLOAD_FIELDS)
            event["payload"][name] = self._extra_value(name)

    def _extra_value(self, name: str) -> object:
        rng = self._rng
        if name == "trace_id":
            return self._factory.uuid()
        if name == "producer":
            return {"name": "publisher", "version": f"2.{rng.randint(0, 9)}.{rng.randint(0, 20)}"}
        if name == "region":
            return rng.choice(("us-west-2", "us-east-1"))
        if name == "utm_source":
            return rng.choice(("email", "facebook", "instagram", "search", None))
        if name == "tribute":
            return {"type": "in_honor_of", "name": rng.choice(("Abuela Rosa", "Coach Lee"))}
        if name == "notes":
            return "Leave at the loading dock; forklift available 7-3."
        if name == "lot_number":
            return f"L{rng.randrange(10**8):08d}"
        return [2, rng.randint(0, 12)]  # client_version

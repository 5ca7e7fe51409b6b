"""Builds one realistic, contract-valid event of a given type from a seeded rng."""

from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate
from random import Random
from typing import Any

from ingestion.demo.simulator import catalog
from ingestion.demo.simulator.clock import pacific_date, pacific_text, utc_text
from ingestion.demo.simulator.profiles import Profile

Event = dict[str, Any]

_SOURCES = {
    "donation": "donation_platform",
    "crm": "crm",
    "inventory": "warehouse",
    "partner": "partner_api",
}
_SECOND_US = 1_000_000
_DAY_US = 86_400 * _SECOND_US

# Gift sizes, in cents: many $25-$100, a tail of large gifts. (weight, amounts)
_GIFT_TIERS: tuple[tuple[float, tuple[int, ...]], ...] = (
    (0.2, (1_000, 1_500, 2_000, 2_500)),
    (0.58, (2_500, 3_500, 5_000, 7_500, 10_000)),
    (0.18, (15_000, 20_000, 25_000, 50_000)),
    (0.04, (100_000, 250_000, 500_000, 1_000_000, 2_500_000)),
)
_RECURRING_AMOUNTS = (1_000, 1_500, 2_000, 2_500, 5_000, 10_000)
_RECURRING_SHARE = 0.2
# Typed-in amounts that are not one of the suggested buttons.
_ODD_AMOUNT_SHARE = 0.15
_MAJOR_DONOR_LARGE_GIFT_SHARE = 0.35

_CHANNELS = ("online", "mail", "event", "peer_to_peer")
_CHANNEL_WEIGHTS = (0.75, 0.1, 0.08, 0.07)
_CAMPAIGN_DESIGNATION_SHARE = 0.85


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


class _Picker:
    """Weighted choice by bisecting cumulative weights: several times faster than
    Random.choices, which rebuilds its cumulative list on every call."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self._items = tuple(items)
        self._cumulative = _cumulative(weights)
        self._total = self._cumulative[-1]

    def pick(self, rng: Random) -> Any:
        return self._items[bisect(self._cumulative, rng.random() * self._total)]


class EventFactory:
    """Makes events; all randomness comes from the rng it is given, so output is reproducible."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._builders: dict[str, Callable[[Profile, int], Event]] = {
            "donation.completed": self._donation_completed,
            "crm.donor_upserted": self._donor_upserted,
            "inventory.received": self._inventory_received,
            "inventory.shipped": self._inventory_shipped,
            "inventory.adjusted": self._inventory_adjusted,
            "partner.order_placed": self._order_placed,
            "partner.distribution_reported": self._distribution_reported,
        }
        self._event_pickers: dict[str, _Picker] = {}
        self._campaign_pickers: dict[str, _Picker] = {}
        self._channel = _Picker(_CHANNELS, _CHANNEL_WEIGHTS)
        self._site = _Picker(catalog.SITES, catalog.SITE_WEIGHTS)
        self._acquisition = _Picker(catalog.ACQUISITIONS, catalog.ACQUISITION_WEIGHTS)
        self._gift_tier = _Picker(
            [amounts for _, amounts in _GIFT_TIERS], [w for w, _ in _GIFT_TIERS]
        )

    def uuid(self) -> str:
        """A random (version 4) UUID drawn from the rng, never from the OS, for determinism."""
        text = f"{self._rng.getrandbits(128):032x}"
        variant = "89ab"[int(text[16], 16) & 3]
        return f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{variant}{text[17:20]}-{text[20:]}"

    def event_type(self, profile: Profile) -> str:
        """What happens next, drawn from the profile's mix."""
        picker = self._event_pickers.get(profile.name)
        if picker is None:
            weights = profile.event_weights
            picker = self._event_pickers[profile.name] = _Picker(
                list(weights), list(weights.values())
            )
        result: str = picker.pick(self._rng)
        return result

    def build(self, event_type: str, profile: Profile, occurred_us: int) -> Event:
        """A valid event of event_type (not donation.refunded: see refund) that occurred then.

        emitted_at is left empty: it is stamped when the record is actually sent.
        """
        return self._builders[event_type](profile, occurred_us)

    def refund(self, donation_id: str, gift_cents: int, occurred_us: int) -> Event:
        """A refund of all (most often) or part of a gift: never more than the gift."""
        rng = self._rng
        amount = (
            gift_cents if gift_cents == 1 or rng.random() < 0.75 else rng.randint(1, gift_cents - 1)
        )
        return self._envelope(
            "donation.refunded",
            occurred_us,
            {
                "refund_id": self.uuid(),
                "donation_id": donation_id,
                "amount_cents": amount,
                "reason": rng.choice(catalog.REFUND_REASONS),
            },
        )

    def _envelope(self, event_type: str, occurred_us: int, payload: Event) -> Event:
        source = _SOURCES[event_type.split(".", 1)[0]]
        if source in ("warehouse", "partner_api"):
            occurred_at = pacific_text(occurred_us)
        else:
            occurred_at = utc_text(occurred_us, "milliseconds")
        return {
            "event_id": self.uuid(),
            "event_type": event_type,
            "schema_version": 1,
            "source": source,
            "occurred_at": occurred_at,
            "emitted_at": "",
            "payload": payload,
        }

    def _donor(self) -> tuple[int, str, str, str]:
        """A donor from the pool: (index, donor_id, name, email). Attributes are a function of
        the index, so a repeat donor always looks the same without storing the pool."""
        index = self._rng.randrange(catalog.DONOR_POOL_SIZE)
        first = catalog.FIRST_NAMES[index % len(catalog.FIRST_NAMES)]
        last = catalog.LAST_NAMES[(index // len(catalog.FIRST_NAMES)) % len(catalog.LAST_NAMES)]
        domain = catalog.EMAIL_DOMAINS[index % len(catalog.EMAIL_DOMAINS)]
        email = f"{first}.{last}.{index}@{domain}".lower()
        return index, f"dnr-{index:07d}", f"{first} {last}", email

    @staticmethod
    def _donor_postal_code(index: int) -> str:
        return catalog.ALAMEDA_COUNTY_ZIPS[
            (index * 7 + index // 13) % len(catalog.ALAMEDA_COUNTY_ZIPS)
        ]

    def _gift_amount(self, is_recurring: bool, is_major: bool) -> int:
        rng = self._rng
        if is_recurring:
            return rng.choice(_RECURRING_AMOUNTS)
        if is_major and rng.random() < _MAJOR_DONOR_LARGE_GIFT_SHARE:
            return rng.choice(_GIFT_TIERS[-1][1])
        amounts: tuple[int, ...] = self._gift_tier.pick(rng)
        if amounts is not _GIFT_TIERS[-1][1] and rng.random() < _ODD_AMOUNT_SHARE:
            return rng.randint(500, 30_000)
        return rng.choice(amounts)

    def _payment(self, channel: str, amount: int) -> tuple[str, str, str, int]:
        """(payment_method, processor, processor_txn_id, fee_cents) at nonprofit-typical rates."""
        rng = self._rng
        if channel == "mail":
            return "check", "lockbox", f"LBX-{rng.randrange(10**10):010d}", 0
        if channel == "event":
            return "card", "square", f"{rng.getrandbits(88):022x}", round(amount * 0.026) + 15
        draw = rng.random()
        if draw < 0.7:
            return "card", "stripe", f"ch_{rng.getrandbits(96):024x}", round(amount * 0.022) + 30
        if draw < 0.9:
            return "paypal", "paypal", f"{rng.getrandbits(68):017X}", round(amount * 0.0199) + 49
        return "ach", "stripe", f"py_{rng.getrandbits(96):024x}", min(round(amount * 0.008), 500)

    def _campaign(self, profile: Profile) -> catalog.Campaign:
        picker = self._campaign_pickers.get(profile.name)
        if picker is None:
            weights = profile.campaign_weights
            campaigns = [catalog.CAMPAIGNS_BY_ID[campaign_id] for campaign_id in weights]
            picker = self._campaign_pickers[profile.name] = _Picker(
                campaigns, list(weights.values())
            )
        campaign: catalog.Campaign = picker.pick(self._rng)
        return campaign

    def _donation_completed(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        index, donor_id, name, email = self._donor()
        campaign = self._campaign(profile)
        channel = self._channel.pick(rng)
        is_recurring = channel == "online" and rng.random() < _RECURRING_SHARE / 0.75
        amount = self._gift_amount(is_recurring, index % catalog.MAJOR_DONOR_EVERY == 0)
        payment_method, processor, txn_id, fee = self._payment(channel, amount)
        designation = campaign.designation
        if rng.random() >= _CAMPAIGN_DESIGNATION_SHARE:
            designation = rng.choice(catalog.DESIGNATIONS)
        return self._envelope(
            "donation.completed",
            occurred_us,
            {
                "donation_id": self.uuid(),
                "donor_id": donor_id,
                "campaign_id": campaign.campaign_id,
                "amount_cents": amount,
                "currency": "USD",
                "channel": channel,
                "payment_method": payment_method,
                "processor": processor,
                "processor_txn_id": txn_id,
                "fee_cents": fee,
                "is_recurring": is_recurring,
                "designation": designation,
                "donor": {
                    "name": name,
                    "email": email,
                    "postal_code": self._donor_postal_code(index),
                },
            },
        )

    def _donor_upserted(self, profile: Profile, occurred_us: int) -> Event:
        index, donor_id, name, email = self._donor()
        event = self._envelope("crm.donor_upserted", occurred_us, {})
        # The CRM writes its own clock in UTC with a numeric offset rather than Z.
        updated_at = utc_text(occurred_us, "milliseconds")[:-1] + "+00:00"
        event["occurred_at"] = updated_at
        event["payload"] = {
            "donor_id": donor_id,
            "name": name,
            "email": email,
            "postal_code": self._donor_postal_code(index),
            "is_major_donor": index % catalog.MAJOR_DONOR_EVERY == 0,
            "updated_at": updated_at,
        }
        return event

    def _partner(self) -> tuple[str, str]:
        index = self._rng.randrange(catalog.PARTNER_COUNT)
        postal_code = catalog.ALAMEDA_COUNTY_ZIPS[(index * 11) % len(catalog.ALAMEDA_COUNTY_ZIPS)]
        return f"ptr-{index:04d}", postal_code

    def _inventory_received(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        sku: catalog.Sku = rng.choice(catalog.SKUS)
        lbs = round(rng.uniform(150, 2_200), 1)
        acquisition = self._acquisition.pick(rng)
        # Government commodities are valued below retail; donations at fair value.
        value_factor = 0.8 if acquisition == "government" else 1.0
        return self._envelope(
            "inventory.received",
            occurred_us,
            {
                "receipt_id": self.uuid(),
                "site_id": self._site.pick(rng),
                "sku": sku.sku,
                "category": sku.category,
                "lbs": lbs,
                "acquisition": acquisition,
                "value_cents": round(lbs * sku.value_cents_per_lb * value_factor),
            },
        )

    def _inventory_shipped(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        sku: catalog.Sku = rng.choice(catalog.SKUS)
        return self._envelope(
            "inventory.shipped",
            occurred_us,
            {
                "shipment_id": self.uuid(),
                "site_id": self._site.pick(rng),
                "partner_id": self._partner()[0],
                "sku": sku.sku,
                "category": sku.category,
                "lbs": round(rng.uniform(15, 900), 1),
            },
        )

    def _inventory_adjusted(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        sku: catalog.Sku = rng.choice(catalog.SKUS)
        # Mostly losses (spoilage, damage); recounts sometimes find stock.
        delta = -rng.uniform(1, 250) if rng.random() < 0.8 else rng.uniform(1, 60)
        return self._envelope(
            "inventory.adjusted",
            occurred_us,
            {
                "adjustment_id": self.uuid(),
                "site_id": self._site.pick(rng),
                "sku": sku.sku,
                "category": sku.category,
                "lbs_delta": round(delta, 1),
                "reason": rng.choice(catalog.ADJUSTMENT_REASONS),
            },
        )

    def _order_placed(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        needed_by = pacific_date(occurred_us + rng.randint(2, 14) * _DAY_US)
        return self._envelope(
            "partner.order_placed",
            occurred_us,
            {
                "order_id": self.uuid(),
                "partner_id": self._partner()[0],
                "site_id": self._site.pick(rng),
                "requested_lbs": round(rng.uniform(200, 6_000), 1),
                "needed_by": needed_by.isoformat(),
            },
        )

    def _distribution_reported(self, profile: Profile, occurred_us: int) -> Event:
        rng = self._rng
        partner_id, postal_code = self._partner()
        households = rng.randint(20, 900)
        service_date = pacific_date(occurred_us - rng.randint(0, 2) * _DAY_US)
        return self._envelope(
            "partner.distribution_reported",
            occurred_us,
            {
                "report_id": self.uuid(),
                "partner_id": partner_id,
                "households_served": households,
                "individuals_served": round(households * rng.uniform(2.2, 3.4)),
                "lbs_distributed": round(households * rng.uniform(18, 32), 1),
                "service_date": service_date.isoformat(),
                "postal_code": postal_code,
            },
        )

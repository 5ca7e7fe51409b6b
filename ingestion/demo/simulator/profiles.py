"""Operating profiles (how busy, what mix) and schedules of them over a run."""

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Profile:
    """A steady operating state: total event rate and the weights of what happens.

    Weights need not sum to 1; they are relative.
    """

    name: str
    events_per_second: int
    event_weights: Mapping[str, float]
    campaign_weights: Mapping[str, float]


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "normal": Profile(
            name="normal",
            events_per_second=800,
            event_weights={
                "donation.completed": 0.22,
                "donation.refunded": 0.004,
                "crm.donor_upserted": 0.1,
                "inventory.received": 0.16,
                "inventory.shipped": 0.22,
                "inventory.adjusted": 0.05,
                "partner.order_placed": 0.14,
                "partner.distribution_reported": 0.106,
            },
            campaign_weights={
                "general-operating-2026": 0.5,
                "spring-appeal-2026": 0.25,
                "summer-meals-2026": 0.1,
                "hunger-action-month-2026": 0.1,
                "disaster-relief-2026": 0.05,
            },
        ),
        # Year-end or GivingTuesday: mostly gifts.
        "campaign": Profile(
            name="campaign",
            events_per_second=3_000,
            event_weights={
                "donation.completed": 0.62,
                "donation.refunded": 0.006,
                "crm.donor_upserted": 0.12,
                "inventory.received": 0.07,
                "inventory.shipped": 0.08,
                "inventory.adjusted": 0.02,
                "partner.order_placed": 0.05,
                "partner.distribution_reported": 0.034,
            },
            campaign_weights={
                "holiday-match-2026": 0.55,
                "giving-tuesday-2026": 0.25,
                "general-operating-2026": 0.15,
                "disaster-relief-2026": 0.05,
            },
        ),
        # Disaster response: a gift spike toward disaster relief, and many times the usual
        # warehouse and partner traffic as food moves out to sites.
        "emergency": Profile(
            name="emergency",
            events_per_second=8_000,
            event_weights={
                "donation.completed": 0.45,
                "donation.refunded": 0.005,
                "crm.donor_upserted": 0.06,
                "inventory.received": 0.14,
                "inventory.shipped": 0.16,
                "inventory.adjusted": 0.03,
                "partner.order_placed": 0.1,
                "partner.distribution_reported": 0.055,
            },
            campaign_weights={
                "disaster-relief-2026": 0.75,
                "general-operating-2026": 0.15,
                "holiday-match-2026": 0.1,
            },
        ),
    }
)


@dataclass(frozen=True)
class Phase:
    """Run one profile for a span of virtual time."""

    profile: Profile
    seconds: float


# The share of a demo run spent in the emergency spike.
_SPIKE_SHARE = 0.2


def demo_schedule(total_seconds: float) -> list[Phase]:
    """Normal traffic, a spike to emergency for about a fifth of the run, then normal again.

    Shows the pipeline absorbing a surge and draining back to freshness within one run.
    """
    spike = total_seconds * _SPIKE_SHARE
    before = (total_seconds - spike) / 2
    return [
        Phase(PROFILES["normal"], before),
        Phase(PROFILES["emergency"], spike),
        Phase(PROFILES["normal"], total_seconds - spike - before),
    ]


def steady(profile_name: str, seconds: float) -> list[Phase]:
    """One profile for the whole run (KeyError names the profiles when the name is unknown)."""
    try:
        profile = PROFILES[profile_name]
    except KeyError:
        raise KeyError(f"unknown profile {profile_name!r}; one of {sorted(PROFILES)}") from None
    return [Phase(profile, seconds)]

"""Realistic, deterministic food-bank events for load tests, demos and end-to-end tests.

A Simulator turns a schedule of operating profiles into the exact bytes producers would put on
the stream, faults included; truth.expected_outcome says what the pipeline must make of them.
"""

from ingestion.demo.simulator.catalog import CAMPAIGNS, Campaign
from ingestion.demo.simulator.faults import MALFORMATIONS, FaultRates
from ingestion.demo.simulator.generator import KINDS, SimRecord, Simulator
from ingestion.demo.simulator.profiles import PROFILES, Phase, Profile, demo_schedule, steady

__all__ = [
    "CAMPAIGNS",
    "KINDS",
    "MALFORMATIONS",
    "PROFILES",
    "Campaign",
    "FaultRates",
    "Phase",
    "Profile",
    "SimRecord",
    "Simulator",
    "demo_schedule",
    "steady",
]

"""The simulator is deterministic, realistic and faulty exactly as configured."""

import itertools
import json
import statistics
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from ingestion.contract import KNOWN_VERSIONS, load_schemas, partition_key, validate_record
from ingestion.demo.simulator import (
    CAMPAIGNS,
    KINDS,
    PROFILES,
    FaultRates,
    Phase,
    SimRecord,
    Simulator,
    demo_schedule,
    steady,
)
from ingestion.demo.simulator.catalog import ALAMEDA_COUNTY_ZIPS

START = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
# High enough that every fault shows up many times in a few seconds of virtual time.
BUSY_FAULTS = FaultRates(
    redelivery=0.03,
    resend_new_event_id=0.02,
    out_of_order=0.04,
    late=0.02,
    refund_before_gift=0.05,
    malformed=0.02,
    schema_drift=0.03,
)
VALID_KINDS = set(KINDS) - {"malformed"}


def run(
    schedule: list[Phase] | None = None, *, seed: int = 7, faults: FaultRates = BUSY_FAULTS
) -> list[SimRecord]:
    return list(
        Simulator(seed=seed, start=START, faults=faults).generate(schedule or steady("normal", 30))
    )


@pytest.fixture(scope="module")
def busy() -> list[SimRecord]:
    return run()


@pytest.fixture(scope="module")
def busy_events(busy: list[SimRecord]) -> list[tuple[int, SimRecord, dict[str, Any]]]:
    """(position, record, parsed event) for every record that passes validation."""
    return [(i, r, json.loads(r.data)) for i, r in enumerate(busy) if r.kind in VALID_KINDS]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.upper())


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_and_arguments_give_byte_identical_records():
    schedule = demo_schedule(5)
    first = run(schedule, seed=11)
    assert first == run(schedule, seed=11)


def test_generate_can_be_called_again_with_the_same_result():
    simulator = Simulator(seed=3, start=START, faults=BUSY_FAULTS)
    assert list(simulator.generate(steady("normal", 3))) == list(
        simulator.generate(steady("normal", 3))
    )


def test_another_seed_gives_different_records():
    first = [r.data for r in run(steady("normal", 3), seed=1) if r.kind == "valid"]
    second = [r.data for r in run(steady("normal", 3), seed=2) if r.kind == "valid"]
    assert len(set(first) & set(second)) == 0


def test_ids_come_from_the_seeded_rng_and_look_like_uuid4(busy_events):
    for _, _, event in busy_events[:500]:
        event_id = event["event_id"]
        assert event_id[14] == "4" and event_id[19] in "89ab", event_id


def test_a_naive_start_time_is_refused():
    with pytest.raises(ValueError, match="naive"):
        # DTZ001: the test proves a naive start is refused.
        Simulator(seed=1, start=datetime(2026, 3, 2))  # noqa: DTZ001


# --- every type and fault, and none that is switched off ------------------------------------


def test_every_event_type_appears(busy_events):
    assert {event["event_type"] for _, _, event in busy_events} == set(KNOWN_VERSIONS)


def test_every_fault_kind_appears_at_non_zero_rates(busy):
    assert {record.kind for record in busy} == set(KINDS)


def test_a_clean_stream_has_only_valid_records_in_order():
    records = run(steady("normal", 10), faults=FaultRates.none())
    assert {record.kind for record in records} == {"valid"}
    occurred = [instant(json.loads(record.data)["occurred_at"]) for record in records]
    emitted = [record.emitted_at for record in records]
    assert all(o <= e for o, e in zip(occurred, emitted, strict=True))
    assert all(e - o < timedelta(seconds=5) for o, e in zip(occurred, emitted, strict=True))


@pytest.mark.parametrize(
    ("rate", "kinds"),
    [
        ("redelivery", {"redelivery"}),
        ("resend_new_event_id", {"resend"}),
        ("out_of_order", {"out_of_order"}),
        ("late", {"late"}),
        ("refund_before_gift", {"refund_before_gift", "deferred_gift"}),
        ("malformed", {"malformed"}),
        ("schema_drift", {"drift"}),
    ],
)
def test_a_fault_at_rate_zero_never_happens_while_the_others_still_do(rate, kinds):
    faults = FaultRates(**{**BUSY_FAULTS.__dict__, rate: 0})
    seen = {record.kind for record in run(steady("campaign", 5), faults=faults)}
    assert not seen & kinds
    assert seen == set(KINDS) - kinds


@pytest.mark.parametrize(
    "changes",
    [
        {"redelivery": -0.1},
        {"malformed": 1.5},
        {"malformed": 0.5, "schema_drift": 0.3, "late": 0.2, "out_of_order": 0.1},
        {"late_max_days": 8},
        {"late_max_days": 0},
    ],
)
def test_impossible_fault_rates_are_refused(changes):
    with pytest.raises(ValueError):
        FaultRates(**changes)


def test_fault_rates_roughly_match_what_was_asked(busy):
    kinds = Counter(record.kind for record in busy)
    fresh = len(busy) - kinds["redelivery"] - kinds["resend"] - kinds["deferred_gift"]
    for kind, rate in [
        ("malformed", BUSY_FAULTS.malformed),
        ("drift", BUSY_FAULTS.schema_drift),
        ("late", BUSY_FAULTS.late),
        ("out_of_order", BUSY_FAULTS.out_of_order),
    ]:
        assert kinds[kind] / fresh == pytest.approx(rate, rel=0.2), kind
    sent_valid = len(busy) - kinds["malformed"] - kinds["redelivery"] - kinds["resend"]
    assert kinds["redelivery"] / sent_valid == pytest.approx(BUSY_FAULTS.redelivery, rel=0.2)
    assert kinds["resend"] / sent_valid == pytest.approx(BUSY_FAULTS.resend_new_event_id, rel=0.25)


def test_refund_before_gift_rate_is_a_share_of_gifts(busy_events):
    gifts = sum(
        1
        for _, r, e in busy_events
        if e["event_type"] == "donation.completed" and r.kind != "resend" and r.kind != "redelivery"
    )
    deferred = sum(1 for _, r, _ in busy_events if r.kind == "deferred_gift")
    # Only gifts with no other fault are held back.
    exclusive = (
        BUSY_FAULTS.malformed
        + BUSY_FAULTS.schema_drift
        + BUSY_FAULTS.late
        + BUSY_FAULTS.out_of_order
    )
    expected = BUSY_FAULTS.refund_before_gift * (1 - exclusive)
    assert deferred / gifts == pytest.approx(expected, rel=0.25)


# --- validity of what is sent ---------------------------------------------------------------


def test_every_non_malformed_record_passes_the_contract_and_every_malformed_one_fails(busy):
    for record in busy:
        violations = validate_record(record.data)
        if record.kind == "malformed":
            assert violations, record.data
        else:
            assert violations == [], (record.kind, violations)


def test_malformed_records_cover_every_kind_of_violation(busy):
    codes = {validate_record(r.data)[0].code for r in busy if r.kind == "malformed"}
    assert codes == {
        "invalid_json",
        "not_an_object",
        "unknown_event_type",
        "unsupported_schema_version",
        "missing_field",
        "wrong_type",
        "out_of_range",
        "invalid_value",
        "invalid_format",
    }


def test_malformed_records_include_timestamps_without_offset(busy):
    reasons = Counter(
        v.reason for r in busy if r.kind == "malformed" for v in validate_record(r.data)
    )
    assert reasons["invalid_format:occurred_at"] + reasons["invalid_format:emitted_at"] > 0


def test_drift_records_carry_fields_the_contract_does_not_know(busy_events):
    drifted = [event for _, r, event in busy_events if r.kind == "drift"]
    assert drifted
    for event in drifted:
        schema = load_schemas()[event["event_type"], 1]["properties"]
        extra_envelope = set(event) - set(schema)
        extra_payload = set(event["payload"]) - set(schema["payload"]["properties"])
        assert extra_envelope or extra_payload, event


def test_jsonschema_agrees_with_the_validator_on_simulated_records(busy):
    validators = {
        key: Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
        for key, schema in load_schemas().items()
    }
    compared = 0
    for record in busy:
        try:
            event = json.loads(record.data)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        validator = validators.get((event.get("event_type"), event.get("schema_version")))
        if validator is None:
            continue
        assert validator.is_valid(event) == (validate_record(record.data) == []), record.data
        compared += 1
    assert compared > 20_000


def test_partition_key_is_the_contracts_key_of_the_bytes(busy):
    for record in busy[:5_000]:
        assert record.partition_key == partition_key(record.data)


# --- faults behave like the real thing ------------------------------------------------------


def test_a_redelivery_repeats_earlier_bytes_exactly(busy):
    sent: dict[bytes, datetime] = {}
    for record in busy:
        if record.kind == "redelivery":
            assert record.data in sent
            assert record.emitted_at > sent[record.data]
        else:
            sent.setdefault(record.data, record.emitted_at)


def test_a_resend_is_the_same_business_event_with_a_new_event_id_emitted_later(busy_events):
    originals: dict[tuple[str, str], dict[str, Any]] = {}
    for _, record, event in busy_events:
        key = (event["event_type"], json.dumps(event["payload"], sort_keys=True))
        if record.kind == "resend":
            original = originals[key]
            assert event["event_id"] != original["event_id"]
            assert instant(event["emitted_at"]) > instant(original["emitted_at"])
            assert event["occurred_at"] == original["occurred_at"]
        elif record.kind != "redelivery":
            originals.setdefault(key, event)


def test_a_refund_before_its_gift_really_precedes_the_gift(busy_events):
    gifts = {
        e["payload"]["donation_id"]: (i, r)
        for i, r, e in busy_events
        if e["event_type"] == "donation.completed" and r.kind not in ("resend", "redelivery")
    }
    early = [(i, r, e) for i, r, e in busy_events if r.kind == "refund_before_gift"]
    assert early
    for position, refund_record, refund in early:
        gift_position, gift = gifts[refund["payload"]["donation_id"]]
        assert gift_position > position
        assert gift.kind == "deferred_gift"
        # Seconds later, as when a refund webhook beats the gift's event, not the next slot.
        assert gift.emitted_at - refund_record.emitted_at >= timedelta(seconds=1)


def test_refunds_never_exceed_their_gift(busy_events):
    gifts = {
        e["payload"]["donation_id"]: e["payload"]["amount_cents"]
        for _, _, e in busy_events
        if e["event_type"] == "donation.completed"
    }
    refunded: Counter[str] = Counter()
    refund_ids = set()
    for _, _, event in busy_events:
        payload = event["payload"]
        if event["event_type"] == "donation.refunded" and payload["refund_id"] not in refund_ids:
            refund_ids.add(payload["refund_id"])
            assert payload["amount_cents"] <= gifts[payload["donation_id"]]
            refunded[payload["donation_id"]] += payload["amount_cents"]
    assert len(refund_ids) > 50
    assert all(total <= gifts[donation_id] for donation_id, total in refunded.items())


def test_late_events_occurred_up_to_seven_days_before_they_were_emitted(busy_events):
    lateness = [
        instant(e["emitted_at"]) - instant(e["occurred_at"])
        for _, r, e in busy_events
        if r.kind == "late"
    ]
    assert lateness
    assert all(timedelta(hours=1) <= late < timedelta(days=7) for late in lateness)
    assert max(lateness) > timedelta(days=3)


def test_late_max_days_bounds_lateness():
    faults = FaultRates(**{**BUSY_FAULTS.__dict__, "late": 0.3, "late_max_days": 2})
    late = [json.loads(r.data) for r in run(steady("normal", 5), faults=faults) if r.kind == "late"]
    assert late
    for event in late:
        assert instant(event["emitted_at"]) - instant(event["occurred_at"]) < timedelta(days=2)


def test_out_of_order_events_occurred_minutes_before_newer_ones(busy_events):
    jitter = [
        instant(e["emitted_at"]) - instant(e["occurred_at"])
        for _, r, e in busy_events
        if r.kind == "out_of_order"
    ]
    assert jitter
    assert all(timedelta(minutes=1) <= j <= timedelta(minutes=15) for j in jitter)


# --- pacing and the virtual clock -----------------------------------------------------------


def test_records_are_paced_at_the_profile_rate_and_stamped_with_their_send_time():
    records = run(steady("campaign", 2), faults=FaultRates(**{**BUSY_FAULTS.__dict__}))
    scheduled = records[:6_000]
    assert [r.emitted_at for r in scheduled] == [
        START + timedelta(microseconds=i * 1_000_000 // 3_000) for i in range(6_000)
    ]
    for record in records:
        if record.kind not in ("redelivery", "malformed"):
            assert instant(json.loads(record.data)["emitted_at"]) == record.emitted_at


def test_emission_order_is_send_time_order(busy):
    assert all(a.emitted_at <= b.emitted_at for a, b in itertools.pairwise(busy))
    assert all(record.emitted_at.tzinfo is not None for record in busy[:100])


def test_records_still_owed_after_the_schedule_are_sent_after_it():
    records = run(steady("normal", 5))
    end = START + timedelta(seconds=5)
    tail = records[4_000:]
    assert tail, "pending gifts, resends and redeliveries should follow the schedule"
    assert all(r.emitted_at >= end for r in tail)
    assert {r.kind for r in tail} <= {"redelivery", "resend", "deferred_gift"}


def test_demo_schedule_spikes_to_emergency_for_a_fifth_of_the_run():
    phases = demo_schedule(100)
    assert [p.profile.name for p in phases] == ["normal", "emergency", "normal"]
    assert sum(p.seconds for p in phases) == pytest.approx(100)
    assert phases[1].seconds == pytest.approx(20)


def test_profiles_run_at_their_rates():
    assert {name: p.events_per_second for name, p in PROFILES.items()} == {
        "normal": 800,
        "campaign": 3_000,
        "emergency": 8_000,
    }
    records = run(demo_schedule(10), faults=FaultRates.none())
    assert len(records) == 4 * 800 + 2 * 8_000 + 4 * 800


def test_steady_names_the_profiles_when_given_an_unknown_one():
    with pytest.raises(KeyError, match="emergency"):
        steady("panic", 10)


def test_generation_is_a_stream_that_does_not_hold_the_run():
    tracemalloc.start()
    try:
        simulator = Simulator(seed=5, start=START, faults=BUSY_FAULTS)
        sent_bytes = sum(len(r.data) for r in simulator.generate(steady("emergency", 3)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding the run would take more than its bytes; the state is a window of recent gifts
    # and a queue of records owed (rate x delay), a small fraction of that.
    assert sent_bytes > 10_000_000
    assert peak < sent_bytes / 4


# --- realism --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gifts_by_profile() -> dict[str, list[dict[str, Any]]]:
    return {
        name: [
            event["payload"]
            for record in run(steady(name, 20 if name == "normal" else 4), faults=FaultRates.none())
            if (event := json.loads(record.data))["event_type"] == "donation.completed"
        ]
        for name in PROFILES
    }


def test_gifts_are_mostly_modest_with_a_few_large_ones(gifts_by_profile):
    amounts = [gift["amount_cents"] for gift in gifts_by_profile["normal"]]
    assert 2_500 <= statistics.median(amounts) <= 10_000
    assert 0.45 < sum(2_500 <= a <= 10_000 for a in amounts) / len(amounts) < 0.8
    assert 0.01 < sum(a >= 100_000 for a in amounts) / len(amounts) < 0.08


def test_about_a_fifth_of_gifts_are_recurring(gifts_by_profile):
    gifts = gifts_by_profile["normal"]
    assert sum(g["is_recurring"] for g in gifts) / len(gifts) == pytest.approx(0.2, abs=0.03)


def test_card_fees_are_processor_rates(gifts_by_profile):
    cards = [
        g
        for g in gifts_by_profile["normal"]
        if g["processor"] == "stripe" and g["payment_method"] == "card"
    ]
    assert cards
    for gift in cards:
        assert gift["fee_cents"] == round(gift["amount_cents"] * 0.022) + 30
    assert all(g["fee_cents"] == 0 for g in gifts_by_profile["normal"] if g["channel"] == "mail")


def test_donors_live_in_alameda_county_and_campaigns_are_known(gifts_by_profile):
    campaign_ids = {campaign.campaign_id for campaign in CAMPAIGNS}
    for gifts in gifts_by_profile.values():
        assert {g["donor"]["postal_code"] for g in gifts} <= set(ALAMEDA_COUNTY_ZIPS)
        assert {g["campaign_id"] for g in gifts} <= campaign_ids
        assert all(g["donor"]["email"].split("@")[1].startswith("example.") for g in gifts)


def test_an_emergency_turns_giving_toward_disaster_relief(gifts_by_profile):
    def relief_share(gifts: list[dict[str, Any]]) -> float:
        return sum(g["designation"] == "disaster_relief" for g in gifts) / len(gifts)

    assert relief_share(gifts_by_profile["emergency"]) > 0.6
    assert relief_share(gifts_by_profile["normal"]) < 0.15


def test_an_emergency_brings_more_donations_inventory_and_partner_traffic_per_second():
    def per_second(name: str, prefix: str) -> float:
        records = run(steady(name, 2), faults=FaultRates.none())
        return sum(json.loads(r.data)["event_type"].startswith(prefix) for r in records) / 2

    for prefix in ("donation.", "inventory.", "partner."):
        assert per_second("emergency", prefix) > 4 * per_second("normal", prefix), prefix
    assert per_second("campaign", "donation.") > 5 * per_second("normal", "donation.")


def test_campaign_ids_are_unique_and_have_goals():
    ids = [campaign.campaign_id for campaign in CAMPAIGNS]
    assert len(ids) == len(set(ids))
    assert {"spring-appeal-2026", "holiday-match-2026", "disaster-relief-2026"} <= set(ids)
    assert all(campaign.goal_cents > 0 for campaign in CAMPAIGNS)

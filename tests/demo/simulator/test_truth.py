"""The truth oracle applies the contract's identity rules, on hand-built and simulated streams."""

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from ingestion.demo.simulator import FaultRates, Simulator, steady
from ingestion.demo.simulator.truth import expected_outcome

DONOR = {"name": "Maria Garcia", "email": "maria@example.org", "postal_code": "94601"}


def event_id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def gift(
    n: int,
    donation_id: str,
    *,
    amount: int = 5_000,
    emitted_at: str = "2026-03-02T17:00:00Z",
    occurred_at: str = "2026-03-02T16:59:59Z",
    campaign_id: str = "spring-appeal-2026",
) -> bytes:
    return record(
        n,
        "donation.completed",
        "donation_platform",
        {
            "donation_id": donation_id,
            "donor_id": "dnr-1",
            "campaign_id": campaign_id,
            "amount_cents": amount,
            "currency": "USD",
            "channel": "online",
            "payment_method": "card",
            "processor": "stripe",
            "processor_txn_id": f"ch_{n}",
            "fee_cents": 140,
            "is_recurring": False,
            "designation": "general",
            "donor": DONOR,
        },
        emitted_at=emitted_at,
        occurred_at=occurred_at,
    )


def refund(
    n: int, refund_id: str, donation_id: str, amount: int, emitted_at: str = "2026-03-02T17:00:00Z"
) -> bytes:
    payload = {
        "refund_id": refund_id,
        "donation_id": donation_id,
        "amount_cents": amount,
        "reason": "donor_request",
    }
    return record(n, "donation.refunded", "donation_platform", payload, emitted_at=emitted_at)


def record(
    n: int,
    event_type: str,
    source: str,
    payload: dict[str, Any],
    *,
    emitted_at: str = "2026-03-02T17:00:00Z",
    occurred_at: str = "2026-03-02T16:59:59Z",
) -> bytes:
    event = {
        "event_id": event_id(n),
        "event_type": event_type,
        "schema_version": 1,
        "source": source,
        "occurred_at": occurred_at,
        "emitted_at": emitted_at,
        "payload": payload,
    }
    return json.dumps(event).encode()


def donor_upsert(n: int, updated_at: str) -> bytes:
    payload = {
        "donor_id": "dnr-1",
        **DONOR,
        "is_major_donor": False,
        "updated_at": updated_at,
    }
    return record(n, "crm.donor_upserted", "crm", payload)


def test_a_redelivered_record_counts_once():
    once = gift(1, "don-1")
    expected = expected_outcome([once, once, once])
    assert (expected.records, expected.valid_records, expected.distinct_event_ids) == (3, 3, 1)
    assert expected.duplicate_deliveries == 2
    assert expected.business_duplicates == 0
    assert expected.donations["don-1"].gross_amount_cents == 5_000


def test_a_resend_under_a_new_event_id_counts_once_and_the_earliest_emitted_wins():
    first = gift(2, "don-1", amount=5_000, emitted_at="2026-03-02T17:00:00Z")
    resent = gift(1, "don-1", amount=7_000, emitted_at="2026-03-02T17:00:30Z")
    for stream in ([first, resent], [resent, first]):
        expected = expected_outcome(stream)
        assert expected.distinct_event_ids == 2
        assert expected.duplicate_deliveries == 0
        assert expected.business_duplicates == 1
        donation = expected.donations["don-1"]
        assert donation.gross_amount_cents == 5_000
        assert donation.emitted_at == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_emitted_at_is_compared_as_an_instant_whatever_its_offset():
    # 09:30-08:00 is 17:30Z: later than 17:10Z although it sorts first as text.
    pacific = gift(1, "don-1", amount=1_000, emitted_at="2026-03-02T09:30:00-08:00")
    utc = gift(2, "don-1", amount=2_000, emitted_at="2026-03-02T17:10:00Z")
    assert expected_outcome([pacific, utc]).donations["don-1"].gross_amount_cents == 2_000


def test_an_emitted_at_tie_goes_to_the_smallest_event_id():
    larger = gift(9, "don-1", amount=9_000)
    smaller = gift(3, "don-1", amount=3_000)
    expected = expected_outcome([larger, smaller])
    assert expected.donations["don-1"].gross_amount_cents == 3_000
    assert expected.business_duplicates == 1


def test_a_refund_that_arrives_before_its_gift_still_applies():
    expected = expected_outcome([refund(1, "ref-1", "don-1", 2_000), gift(2, "don-1")])
    donation = expected.donations["don-1"]
    assert donation.refunded_amount_cents == 2_000
    assert donation.net_amount_cents == 3_000


def test_distinct_refunds_add_up_and_a_resent_refund_counts_once():
    expected = expected_outcome(
        [
            gift(1, "don-1", amount=10_000),
            refund(2, "ref-1", "don-1", 2_000),
            refund(3, "ref-2", "don-1", 3_000),
            refund(4, "ref-2", "don-1", 3_000, emitted_at="2026-03-02T17:05:00Z"),
        ]
    )
    assert expected.donations["don-1"].refunded_amount_cents == 5_000
    assert expected.donations["don-1"].net_amount_cents == 5_000
    assert expected.business_duplicates == 1


def test_a_refund_whose_gift_never_arrives_is_in_no_donation():
    expected = expected_outcome([refund(1, "ref-1", "don-404", 2_000), gift(2, "don-1")])
    assert set(expected.donations) == {"don-1"}
    assert expected.donations["don-1"].refunded_amount_cents == 0


def test_invalid_records_are_quarantined_and_count_for_nothing_else():
    missing_amount = json.loads(gift(2, "don-2"))
    del missing_amount["payload"]["amount_cents"]
    expected = expected_outcome(
        [gift(1, "don-1"), b"not json", json.dumps(missing_amount).encode(), b"[]"]
    )
    assert (expected.records, expected.valid_records, expected.quarantined_records) == (4, 1, 3)
    assert set(expected.donations) == {"don-1"}
    assert expected.distinct_event_ids == 1


def test_donated_at_is_the_winners_occurred_at_in_utc():
    expected = expected_outcome([gift(1, "don-1", occurred_at="2026-03-02T08:59:59.5-08:00")])
    assert expected.donations["don-1"].donated_at == datetime(
        2026, 3, 2, 16, 59, 59, 500_000, tzinfo=UTC
    )


def test_crm_updates_of_one_donor_are_state_changes_not_business_duplicates():
    expected = expected_outcome(
        [donor_upsert(1, "2026-03-02T17:00:00Z"), donor_upsert(2, "2026-03-02T18:00:00Z")]
    )
    assert expected.business_duplicates == 0
    assert expected.distinct_event_ids == 2


def test_net_by_campaign_sums_net_amounts():
    expected = expected_outcome(
        [
            gift(1, "don-1", amount=5_000, campaign_id="spring-appeal-2026"),
            gift(2, "don-2", amount=2_500, campaign_id="spring-appeal-2026"),
            gift(3, "don-3", amount=10_000, campaign_id="disaster-relief-2026"),
            refund(4, "ref-1", "don-2", 2_500),
        ]
    )
    assert expected.net_cents_by_campaign() == {
        "disaster-relief-2026": 10_000,
        "spring-appeal-2026": 5_000,
    }


def test_on_a_simulated_stream_the_oracle_counts_exactly_the_injected_faults():
    faults = FaultRates(
        redelivery=0.03,
        resend_new_event_id=0.02,
        out_of_order=0.04,
        late=0.02,
        refund_before_gift=0.05,
        malformed=0.02,
        schema_drift=0.03,
    )
    start = datetime(2026, 3, 2, 17, tzinfo=UTC)
    records = list(Simulator(seed=21, start=start, faults=faults).generate(steady("campaign", 5)))
    kinds = Counter(r.kind for r in records)
    expected = expected_outcome(r.data for r in records)

    assert expected.records == len(records)
    assert expected.quarantined_records == kinds["malformed"]
    assert expected.duplicate_deliveries == kinds["redelivery"]
    resent_facts = sum(
        1
        for r in records
        if r.kind == "resend" and json.loads(r.data)["event_type"] != "crm.donor_upserted"
    )
    assert expected.business_duplicates == resent_facts
    gifts = {
        json.loads(r.data)["payload"]["donation_id"]
        for r in records
        if r.kind != "malformed" and json.loads(r.data)["event_type"] == "donation.completed"
    }
    assert set(expected.donations) == gifts
    assert all(d.net_amount_cents >= 0 for d in expected.donations.values())
    assert any(d.refunded_amount_cents for d in expected.donations.values())

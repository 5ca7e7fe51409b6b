"""An identifier with a control character is a contract violation on every path: the producer's
validator refuses it, and the warehouse quarantines it with the same reason instead of carrying
it into the marts (Redshift refuses NUL in text outright)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from ingestion.config.settings import Settings
from ingestion.contract import validate_record
from tests.contract.test_contract import example
from tests.support import build, land, publish, query

NOW = datetime.now(UTC)


def _gift(donation_id: str, donor_id: str) -> dict[str, object]:
    event = example("donation.completed")
    event["event_id"] = str(uuid.uuid4())
    event["occurred_at"] = event["emitted_at"] = NOW.isoformat()
    event["payload"]["donation_id"] = donation_id  # type: ignore[index]
    event["payload"]["donor_id"] = donor_id  # type: ignore[index]
    return event


@pytest.mark.parametrize("character", ["\x00", "\t", "\n", "\x1b", "\x7f"])
def test_the_validator_refuses_a_control_character_in_an_identifier(character: str) -> None:
    (violation,) = validate_record(json.dumps(_gift("don-1", f"dnr-{character}")), arrived_at=NOW)
    assert violation.reason == "invalid_format:payload.donor_id"


@pytest.mark.parametrize("donor_id", ["dnr-é", "dnr-\u2028", "dnr-\x80", "ドナー"])
def test_other_text_stays_a_valid_identifier(donor_id: str) -> None:
    assert validate_record(json.dumps(_gift("don-1", donor_id)), arrived_at=NOW) == []


def test_a_nul_in_a_donor_id_is_quarantined_and_never_reaches_fct_donations(
    provisioned: Settings,
) -> None:
    publish(
        provisioned,
        [
            json.dumps(_gift("don-nul", "dnr-\u0000")).encode(),
            json.dumps(_gift("don-ok", "dnr-1")).encode(),
        ],
    )
    land(provisioned)
    build(provisioned)

    assert query(provisioned, "select donation_id from marts.fct_donations") == [("don-ok",)]
    assert query(
        provisioned,
        "select reason, contains(raw_text, 'don-nul') from ops.quarantined_events",
    ) == [("invalid_format:payload.donor_id", True)]

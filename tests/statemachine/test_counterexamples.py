"""The defects issue 31 named and the counterexamples the state machine found, each kept as a
fixed sequence of the machine's own rules (test_full_build_equivalence.py), with the figure
that was wrong asserted by name as well as the whole comparison with a full build.

Each failed before its fix; docs/incremental.md ("Corrections and withdrawals") says what each
fix does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingestion.config import dbt, warehouse
from tests.statemachine.test_full_build_equivalence import (
    PROFILE,
    FullBuildEquivalence,
    _emitted,
)

pytestmark = [pytest.mark.pipeline]

SETTLEMENTS = "2026-11-22"
CRM = "donors-2026-11-21"


@pytest.fixture(scope="module", autouse=True)
def _parsed_once() -> Iterator[None]:
    # One parse of the project for the module, as the state machine does: each sequence has
    # its own stream name, which dbt's partial parse answers with a full parse of its own.
    with dbt.parsed_once():
        yield


@pytest.fixture
def machine(aws_endpoint: str, tmp_path: Path) -> Iterator[FullBuildEquivalence]:
    FullBuildEquivalence.root = tmp_path
    FullBuildEquivalence.endpoint = aws_endpoint
    machine = FullBuildEquivalence()
    machine.seed_factory(20261207)
    yield machine


def _query(machine: FullBuildEquivalence, sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect(machine.pipeline.settings.warehouse_path) as con:
        return con.execute(sql).fetchall()


def _equals_a_full_build(machine: FullBuildEquivalence) -> None:
    machine.equals_a_full_build()


def _gifts(machine: FullBuildEquivalence, count: int) -> None:
    machine.new_events(["donation.completed"] * count, [(i + 0.5) / 8 for i in range(8)])


def test_a_same_key_settlement_correction_replaces_withdraws_and_moves_legs(
    machine: FullBuildEquivalence,
) -> None:
    """The issue's case: a processor re-drops its export under the same name with one charge
    100 cents lower, one withdrawn and one settled a day later. Before: every leg stayed
    `matched` at the old amounts, and the moved charge counted on both days of the close."""
    _gifts(machine, 6)
    machine.settlement_export(SETTLEMENTS, list(range(6)))
    rows = machine.settlements[SETTLEMENTS]
    lowered, withdrawn, moved = rows[0], rows[1], rows[2]
    moved_to = datetime.fromisoformat(moved[6]) + timedelta(days=1)
    corrected = [
        (*lowered[:2], lowered[2] - 100, lowered[3], lowered[4] - 100, *lowered[5:]),
        (*moved[:6], moved_to.isoformat()),
        *rows[3:],
    ]
    machine._drop_settlements(SETTLEMENTS, corrected)

    statuses = dict(
        _query(
            machine,
            "select processor_txn_id, reconciliation_status || ':' || "
            "coalesce(cast(settlement_gross_cents as varchar), 'none') "
            "from marts.rpt_settlement_reconciliation where settlement_type = 'charge'",
        )
    )
    assert statuses[lowered[1]] == f"amount_mismatch:{lowered[2] - 100}"
    assert statuses[withdrawn[1]].endswith(":none")
    settled = dict(
        _query(machine, "select close_date, settled_net_cents from marts.rpt_daily_close")
    )
    assert sum(settled.values()) == sum(row[4] for row in corrected)
    _equals_a_full_build(machine)


def test_a_withdrawn_newest_settlement_moves_the_processor_cutoff_back(
    machine: FullBuildEquivalence,
) -> None:
    """Before: int_processor_settlement_cutoffs kept the greater of the standing and the new
    settlement, so a withdrawn newest leg left the cutoff where it was."""
    _gifts(machine, 4)
    machine.settlement_export(SETTLEMENTS, list(range(4)))
    rows = machine.settlements[SETTLEMENTS]
    processor = rows[0][0]
    mine = sorted((r for r in rows if r[0] == processor), key=lambda r: r[6])
    newest = mine[-1]
    machine._drop_settlements(SETTLEMENTS, [r for r in rows if r is not newest])

    remaining = [r for r in mine if r is not newest]
    cutoffs = _query(
        machine,
        "select settled_through_at from intermediate.int_processor_settlement_cutoffs "
        f"where processor = '{processor}'",
    )
    through = cutoffs[0][0] if cutoffs else None
    expected = max((datetime.fromisoformat(r[6]) for r in remaining), default=None)
    assert through == (expected.replace(tzinfo=None) if expected else None)
    _equals_a_full_build(machine)


def test_a_crm_row_withdrawn_by_a_corrected_export_leaves_dim_donors(
    machine: FullBuildEquivalence,
) -> None:
    """Before: the corrected export's rows replaced the file's in the landing, but dim_donors
    rebuilt only the donors the new rows named, so a withdrawn donor stayed."""
    _gifts(machine, 4)
    machine.crm_export(CRM, [0, 1, 2], True)
    exported = {row[0] for row in machine.crm[CRM]}
    machine.crm_export(CRM, [0], False)
    kept = {row[0] for row in machine.crm[CRM]}

    donors = {d for (d,) in _query(machine, "select donor_id from marts.dim_donors")}
    assert exported - kept
    assert donors & exported == kept
    _equals_a_full_build(machine)


def test_a_settlement_export_redropped_with_its_header_only_withdraws_every_leg(
    machine: FullBuildEquivalence,
) -> None:
    """Before: a corrected version with no rows landed none, and the staging model looked for
    reloaded files among the landing's new rows, so every leg stayed `matched` and settled."""
    _gifts(machine, 4)
    machine.settlement_export(SETTLEMENTS, list(range(4)))
    machine._drop_settlements(SETTLEMENTS, [])

    settled = _query(
        machine,
        "select count(*) from marts.rpt_settlement_reconciliation "
        "where settlement_gross_cents is not null",
    )
    assert settled == [(0,)]
    assert _query(
        machine, "select coalesce(sum(settled_net_cents), 0) from marts.rpt_daily_close"
    ) == [(0,)]
    _equals_a_full_build(machine)


def test_a_crm_export_redropped_with_its_header_only_withdraws_every_donor_it_held(
    machine: FullBuildEquivalence,
) -> None:
    """Before: dim_donors found reloaded files among the export rows loaded since its cursor,
    and a version with no rows has none, so the donors only that file named stayed."""
    _gifts(machine, 3)
    machine.crm_export(CRM, [0, 1], True)
    exported = {row[0] for row in machine.crm[CRM]}
    machine.crm_export(CRM, [], True)

    donors = {d for (d,) in _query(machine, "select donor_id from marts.dim_donors")}
    assert exported
    assert not donors & exported
    _equals_a_full_build(machine)


def test_a_repolled_item_is_staged_once_and_its_hash_is_md5s_first_60_bits(
    machine: FullBuildEquivalence,
) -> None:
    """Before: the poller stamps a new emitted_at on each poll, so a re-polled item got past
    the emitted_at probe of stg_stream__events and was staged (and counted) twice. The stored
    hash is MD5's first 15 hex digits, as tests/warehouse/test_redshift_compile.py proves the
    Redshift SQL computes."""
    machine.poll_partner_api([0.1, 0.5], False)
    machine.poll_partner_api([0.1, 0.5], True)

    staged = _query(
        machine,
        "select event_id, count(*) from staging.stg_stream__events "
        "where source = 'partner_api' group by event_id",
    )
    assert len(staged) == 2
    assert {count for _, count in staged} == {1}
    hashes = _query(
        machine,
        "select event_id, event_id_hash from staging.stg_stream__events "
        "where source = 'partner_api'",
    )
    for event_id, stored in hashes:
        assert stored == int(hashlib.md5(event_id.encode()).hexdigest()[:15], 16)  # noqa: S324
    _equals_a_full_build(machine)


def test_int_campaign_daily_marks_the_parts_it_read(machine: FullBuildEquivalence) -> None:
    """Before: int_campaign_daily recorded its mark from fct_donations though it reads
    int_campaign_daily_batches, so a selection that ran it before the parts caught up left
    the parts' new batches behind its mark for good."""
    _gifts(machine, 3)
    late = [machine.events.build("donation.completed", PROFILE, machine._occurred(0.4))]
    machine._send([_emitted(gift, machine._now()) for gift in late])
    machine.pipeline.refresh(
        [
            *("run", "--select", "+fct_donations", "int_campaign_daily"),
            *("--exclude", "int_campaign_daily_batches"),
        ]
    )
    machine.pipeline.refresh()
    _equals_a_full_build(machine)


def test_a_campaign_every_gift_of_a_donor_left_drops_the_pair(
    machine: FullBuildEquivalence,
) -> None:
    """Found by the state machine: a re-send that wins moves a gift to another campaign;
    int_campaign_donors kept the donor's old pair with zero gifts, which a full build has not."""
    _gifts(machine, 3)
    gift = machine.gifts[0]["payload"]
    other = next(
        c for c in ("spring-appeal-2026", "holiday-match-2026") if c != gift["campaign_id"]
    )
    machine.resend_moved_gift(0, other, 0, False)

    pairs = _query(
        machine,
        "select campaign_id, gift_count from intermediate.int_campaign_donors "
        f"where donor_id = '{gift['donor_id']}'",
    )
    assert (gift["campaign_id"], 0) not in pairs
    assert (other, 1) in pairs
    _equals_a_full_build(machine)


def test_a_moved_cutoff_leaves_no_stale_cutoff_on_settled_legs(
    machine: FullBuildEquivalence,
) -> None:
    """Found by the state machine: a correction under a later-dated key moved a leg a day on,
    which moved its processor's cutoff; rpt_settlement_reconciliation re-examined only the
    pending legs, so the settled legs' rows kept the old `settlement_cutoff_at`. The column now
    holds the cutoff only for the legs it decides (pending or missing)."""
    _gifts(machine, 5)
    machine.settlement_export(SETTLEMENTS, list(range(5)))
    machine.settlement_correction(0, "move", True)

    stale = _query(
        machine,
        "select count(*) from marts.rpt_settlement_reconciliation "
        "where settlement_cutoff_at is not null "
        "and reconciliation_status not in ('pending', 'missing_in_settlement')",
    )
    assert stale == [(0,)]
    _equals_a_full_build(machine)


def test_a_full_refresh_of_one_fact_realigns_the_parts_summed_from_it(
    machine: FullBuildEquivalence,
) -> None:
    """A refund re-sent naming another gift moves off its first gift, which a pass then dates
    to that batch; a full refresh of fct_donations alone dates it back to its own events, and
    int_campaign_daily_batches still held it in the later batch's part. Before, the gift's
    next change re-summed the batch it was in then, not that part: counted twice."""
    _gifts(machine, 2)
    first, second = (gift["payload"] for gift in machine.gifts[:2])
    refund = machine.events.refund(
        first["donation_id"], first["amount_cents"], machine._occurred(0.9)
    )
    machine._send([_emitted(refund, machine._now())])
    machine._refresh()
    renamed = {
        **refund,
        "event_id": machine.events.uuid(),
        "payload": {
            **refund["payload"],
            "donation_id": second["donation_id"],
            "amount_cents": min(refund["payload"]["amount_cents"], second["amount_cents"]),
        },
    }
    machine._send([_emitted(renamed, machine._now() - timedelta(hours=1))])
    machine._refresh()
    machine.full_refresh_one_fact("fct_donations")
    machine.refund_after_gift(0)

    counted = _query(machine, "select sum(gift_count) from intermediate.int_campaign_daily")
    assert counted == _query(machine, "select count(*) from marts.fct_donations")
    _equals_a_full_build(machine)


def test_a_full_refresh_of_fct_inventory_movements_realigns_what_reads_it(
    machine: FullBuildEquivalence,
) -> None:
    """A full refresh of one fact alone is how a fact left wrong (by a defect since fixed) is
    put right: here its shipments went missing and its readers summed it so. Before, the
    rebuild moved no row past their cursors, so int_inventory_daily and
    rpt_open_partner_orders kept the wrong figures until each triple or pair changed again."""
    machine.new_events(
        ["inventory.received", "partner.order_placed", "inventory.shipped", "inventory.shipped"]
        * 2,
        [(i + 0.5) / 8 for i in range(8)],
    )
    _query(machine, "delete from marts.fct_inventory_movements where movement_type = 'shipment'")
    machine.pipeline.refresh(
        ["run", "--select", "int_inventory_daily", "rpt_open_partner_orders", "--full-refresh"]
    )
    machine.full_refresh_one_fact("fct_inventory_movements")

    shipped = "select coalesce(sum({}), 0) from {}"
    assert _query(
        machine, shipped.format("shipped_lbs", "intermediate.int_inventory_daily")
    ) == _query(
        machine,
        shipped.format(
            "-signed_lbs",
            "marts.fct_inventory_movements where movement_type = 'shipment'",
        ),
    )
    _equals_a_full_build(machine)


def test_a_full_refresh_of_fct_partner_distributions_realigns_agg_distribution_daily(
    machine: FullBuildEquivalence,
) -> None:
    """As for the inventory: the fact lost a report and agg_distribution_daily summed it so;
    before, a full refresh of the fact alone left the aggregate's groups as they were."""
    machine.new_events(["partner.distribution_reported"] * 4, [(i + 0.5) / 8 for i in range(8)])
    _query(
        machine,
        "delete from marts.fct_partner_distributions "
        "where report_id = (select min(report_id) from marts.fct_partner_distributions)",
    )
    machine.pipeline.refresh(["run", "--select", "agg_distribution_daily", "--full-refresh"])
    machine.full_refresh_one_fact("fct_partner_distributions")

    reports = "select count(*) from marts.fct_partner_distributions"
    assert _query(machine, reports) == [(4,)]
    assert _query(
        machine, "select coalesce(sum(report_count), 0) from marts.agg_distribution_daily"
    ) == _query(machine, reports)
    _equals_a_full_build(machine)

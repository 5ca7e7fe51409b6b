"""What a run produced and what the warehouse holds, side by side, and whether they agree."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingestion.config import warehouse
from ingestion.landing.lander import LANDING_TABLE


@dataclass(frozen=True)
class WarehouseCounts:
    landed: int
    valid_records: int
    distinct_events: int
    quarantined: int
    quarantine_by_reason: Mapping[str, int]
    donations: int
    net_cents_by_campaign: Mapping[str, tuple[int, int]]  # campaign -> (gifts, net cents)
    freshness_seconds: Mapping[str, float | None]  # p50, p95, p99, max


def read_counts(path: Path) -> WarehouseCounts:
    with warehouse.connect(path) as con:

        def one(sql: str) -> Any:
            row = con.execute(sql).fetchone()
            # S101: narrows the type for mypy; the query always returns a row.
            assert row is not None  # noqa: S101
            return row[0]

        freshness = con.execute(
            """
            select
                quantile_cont(seconds, 0.50),
                quantile_cont(seconds, 0.95),
                quantile_cont(seconds, 0.99),
                max(seconds)
            from (
                select epoch(first_loaded_at - emitted_at) as seconds from marts.fct_donations
            )
            """
        ).fetchone()
        # S101: narrows the type for mypy; the query always returns a row.
        assert freshness is not None  # noqa: S101
        return WarehouseCounts(
            # S608: identifiers are module constants; values are bound parameters.
            landed=one(f"select count(*) from {LANDING_TABLE}"),  # noqa: S608
            valid_records=one("select count(*) from staging.stg_stream__records where is_valid"),
            distinct_events=one("select count(*) from staging.stg_stream__events"),
            quarantined=one("select count(*) from ops.quarantined_events"),
            quarantine_by_reason=dict(
                con.execute(
                    """
                    select reason_code, count(*) from ops.quarantined_events
                    group by 1 order by 2 desc
                    """
                ).fetchall()
            ),
            donations=one("select count(*) from marts.fct_donations"),
            net_cents_by_campaign={
                campaign: (gifts, int(net))
                for campaign, gifts, net in con.execute(
                    """
                    select campaign_id, count(*), sum(net_amount_cents)
                    from marts.fct_donations group by 1 order by 1
                    """
                ).fetchall()
            },
            freshness_seconds=dict(zip(("p50", "p95", "p99", "max"), freshness, strict=True)),
        )


def read_donations(path: Path) -> dict[str, tuple[int, int, int]]:
    """donation_id -> (gross, refunded, net) cents, as the mart has them."""
    with warehouse.connect(path) as con:
        rows = con.execute(
            """
            select donation_id, gross_amount_cents, refunded_amount_cents, net_amount_cents
            from marts.fct_donations
            """
        ).fetchall()
    return {donation_id: (gross, refunded, net) for donation_id, gross, refunded, net in rows}


def read_reconciliation_statuses(path: Path) -> dict[str, int]:
    """How many processor transactions rpt_settlement_reconciliation gives each status."""
    with warehouse.connect(path) as con:
        rows = con.execute(
            """
            select reconciliation_status, count(*)
            from marts.rpt_settlement_reconciliation
            group by 1 order by 1
            """
        ).fetchall()
    return {status: count for status, count in rows}


@dataclass
class Comparison:
    missing: list[str] = field(default_factory=list)  # expected gifts absent from the mart
    unexpected: list[str] = field(default_factory=list)  # mart gifts nobody sent
    wrong_amounts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_amounts)


def compare_donations(
    expected: Mapping[str, tuple[int, int, int]], actual: Mapping[str, tuple[int, int, int]]
) -> Comparison:
    result = Comparison()
    for donation_id, amounts in expected.items():
        if donation_id not in actual:
            result.missing.append(donation_id)
        elif actual[donation_id] != amounts:
            result.wrong_amounts.append(
                f"{donation_id}: expected {amounts}, warehouse {actual[donation_id]}"
            )
    result.unexpected = sorted(set(actual) - set(expected))
    return result

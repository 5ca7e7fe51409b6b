"""The period close: freeze a day's finance figures and record, never rewrite, what moves after.

`accfb close --date D` and the settlement DAG's ``close`` task run the dbt operation
``close_day`` (macros/finance/close.sql): the day's rpt_daily_close row becomes revision 0 of
marts.rpt_closed_days, once; every closed day whose live figures have moved since gets a dated
adjustment row with the delta and what caused it (`caused_by`: the stream events, the
settlement export rows and corrected exports, or the stream batches; never none). Each new
adjustment is alerted with the day, the amounts and its first cause, so finance hears of a
moved close the day it moves.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ingestion.config import dbt, warehouse
from ingestion.config.settings import Settings
from ingestion.operations.alerts import Alert, send_alert

CLOSED_DAYS = "marts.rpt_closed_days"
RUNBOOK = "closed-day-adjusted"


class CloseRefused(ValueError):
    """The day cannot be closed yet; the message says why."""


@dataclass(frozen=True)
class Revision:
    close_date: date
    revision: int
    entry_kind: str
    net_amount_cents: int
    gross_amount_cents: int
    refunded_amount_cents: int
    fee_cents: int
    settled_net_cents: int
    gift_count: int
    refund_count: int
    cause_count: int
    caused_by: str | None


def rows(settings: Settings, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """A read of the settings' warehouse: the DuckDB file locally, the workgroup otherwise."""
    if settings.dbt_target == "local":
        with warehouse.connect(settings.warehouse_path) as con:
            return con.execute(sql, list(params)).fetchall()
    from ingestion.serving.source import _redshift_connection

    connection = _redshift_connection(settings)
    try:
        cursor = connection.cursor()
        cursor.execute(sql.replace("?", "%s"), list(params))
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def revisions(settings: Settings, day: date | None = None) -> list[Revision]:
    """The closed days' revisions (one day's, or all), oldest first; none before any close."""
    found = rows(
        settings,
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'rpt_closed_days'",
    )
    if not found[0][0]:
        return []
    where = "where close_date = ?" if day else ""
    return [
        Revision(*row)
        for row in rows(
            settings,
            f"""
            select close_date, revision, entry_kind, net_amount_cents, gross_amount_cents,
                refunded_amount_cents, fee_cents, settled_net_cents, gift_count, refund_count,
                cause_count, caused_by
            from {CLOSED_DAYS} {where}
            order by close_date, revision
            """,  # noqa: S608  (a module constant; the day is a bound parameter)
            [day] if day else [],
        )
    ]


def close(settings: Settings, day: date | None = None, *, open_day: bool = False) -> list[Revision]:
    """Close ``day`` (a UTC day already over; None: only record adjustments of closed days) and
    alert each adjustment this run recorded. Returns the adjustments recorded. ``open_day``
    closes a day not over yet: only the demo does, whose traffic is all of today."""
    today = datetime.now(UTC).date()
    if day is not None and day >= today and not open_day:
        raise CloseRefused(f"{day} is not over yet (UTC today is {today}): only a past day closes")
    before = {(r.close_date, r.revision) for r in revisions(settings)}
    args = {"close_date": day.isoformat()} if day else {}
    dbt.run_dbt(settings, ["run-operation", "close_day", "--args", json.dumps(args)])
    adjustments = [
        r
        for r in revisions(settings)
        if r.entry_kind == "adjustment" and (r.close_date, r.revision) not in before
    ]
    for adjustment in adjustments:
        send_alert(
            settings,
            Alert(
                summary=(
                    f"closed day {adjustment.close_date} moved by "
                    f"{adjustment.net_amount_cents / 100:+,.2f} $ net, "
                    f"{adjustment.settled_net_cents / 100:+,.2f} $ settled "
                    f"(adjustment {adjustment.revision}, {adjustment.cause_count} causes: "
                    f"{(adjustment.caused_by or '').split(',')[0]})"
                ),
                runbook=RUNBOOK,
                measured=(
                    f"net {adjustment.net_amount_cents:+d} cents, "
                    f"settled {adjustment.settled_net_cents:+d} cents"
                ),
                threshold="0 cents after the close",
                window=adjustment.close_date.isoformat(),
            ),
        )
    return adjustments

"""The availability objective on the operations page: 30-day availability against 99.95% and the
error budget left, computed by ``ingestion.operations.availability`` over the refresh log."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from ingestion.operations.availability import (
    BUDGET_MINUTES,
    REFRESH_LOG_SQL,
    SLO_TARGET,
    Refresh,
    measure,
)
from ingestion.serving.dashboards.common import query, settings


def show_availability() -> None:
    """Locally the log is judged up to its last refresh (the pipeline runs only while a demo or
    a refresh does); on Redshift up to now, so a stopped refresh shows as spent budget."""
    st.subheader("Availability: 99.95% of minutes fresh over 30 days")
    log = query(REFRESH_LOG_SQL)
    refreshes = [
        Refresh(at=row.refreshed_at.to_pydatetime(), freshness_p95_seconds=_number(row.p95))
        for row in log.rename(columns={"freshness_p95_seconds": "p95"}).itertuples()
    ]
    end = None if settings().dbt_target == "local" else datetime.now(UTC)
    result = measure(refreshes, end=end)
    if result.ratio is None:
        st.info("Availability: no refresh yet")
        return
    ratio, budget, minutes = st.columns(3)
    ratio.metric(
        "Availability",
        f"{100 * result.ratio:.3f}%",
        delta=f"{100 * (result.ratio - SLO_TARGET):+.3f} pts vs {100 * SLO_TARGET:.2f}%",
        help="Good minutes over minutes judged. A minute is good when a refresh completed in "
        "it and its freshness P95 was under 2 minutes.",
    )
    budget.metric(
        f"Error budget left, of {BUDGET_MINUTES:.1f} min",
        f"{result.budget_left_minutes:,.1f} min",
        delta=f"{result.bad_minutes:,} bad minute(s)",
        delta_color="inverse",
        help="0.05% of a 30-day window may be bad minutes: 21.6 minutes a month.",
    )
    minutes.metric(
        "Minutes judged",
        f"{result.minutes:,}",
        help=f"{result.start:%Y-%m-%d %H:%M} to {result.end:%Y-%m-%d %H:%M} UTC",
    )
    st.caption(
        f"Judged {result.start:%Y-%m-%d %H:%M} to {result.end:%H:%M} UTC: "
        f"{result.good_minutes:,} good and {result.bad_minutes:,} bad minute(s)."
    )


def _number(value: float | None) -> float | None:
    # pandas gives NaN for a refresh that brought no gifts.
    return None if value is None or pd.isna(value) else float(value)

"""The window a backfill is asked for, refused with a plain reason before anything runs.

A person types these bounds into a trigger form at 3 a.m.; a typo must cost a clear message, not
a half-loaded month. The largest window one run may take is bounded so a mistaken year becomes
a refusal; longer outages are replayed as several runs (or Airflow's own backfill over dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_WINDOW = timedelta(days=7)


class WindowRefused(ValueError):
    """The requested window cannot be backfilled; the message says why and what to do."""


@dataclass(frozen=True)
class BackfillWindow:
    start: datetime
    end: datetime

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


def _instant(name: str, text: object) -> datetime:
    if not isinstance(text, str) or not text.strip():
        raise WindowRefused(f"{name} is required: an ISO 8601 time such as 2026-11-20T17:00:00Z")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise WindowRefused(
            f"{name} {text!r} is not an ISO 8601 time such as 2026-11-20T17:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise WindowRefused(f"{name} {text!r} has no time zone: add Z for UTC or an offset")
    return value.astimezone(UTC)


def parse_window(
    start: object,
    end: object,
    *,
    now: datetime | None = None,
    max_window: timedelta = MAX_WINDOW,
) -> BackfillWindow:
    """A half-open window [start, end) in UTC, or ``WindowRefused``."""
    window = BackfillWindow(_instant("window_start", start), _instant("window_end", end))
    if window.end <= window.start:
        raise WindowRefused(
            f"window_end {window.end.isoformat()} is not after window_start "
            f"{window.start.isoformat()}: the bounds look reversed"
        )
    if window.end - window.start > max_window:
        raise WindowRefused(
            f"the window spans {window.end - window.start}, more than the {max_window} one "
            "backfill may take: split it into several runs"
        )
    if window.end > (now or datetime.now(UTC)):
        raise WindowRefused(
            f"window_end {window.end.isoformat()} is in the future: the streaming refresh owns "
            "the present"
        )
    return window

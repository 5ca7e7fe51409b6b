"""The one window type: a half-open interval of stream arrival time, [start, end), in UTC.

A person types these bounds into a trigger form or a terminal at 3 a.m.; a typo must cost a
clear message, not a half-loaded month. So every window, however it is made (`accfb replay`,
`accfb reconcile`, the backfill DAG, code), obeys one set of rules: both bounds carry a time
zone, the end is after the start, and one window spans at most ``MAX_WINDOW`` (a mistaken year
becomes a refusal; longer outages are replayed as several runs, or Airflow's backfill over dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MAX_WINDOW = timedelta(days=7)


class WindowRefused(ValueError):
    """The requested window cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise WindowRefused("window bounds need a time zone: add Z for UTC or an offset")
        # Frozen: normalise through object.__setattr__ so every window compares in UTC.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise WindowRefused(
                f"window_end {self.end.isoformat()} is not after window_start "
                f"{self.start.isoformat()}: the bounds look reversed"
            )
        if self.end - self.start > MAX_WINDOW:
            raise WindowRefused(
                f"the window spans {self.end - self.start}, more than the {MAX_WINDOW} one "
                "run may take: split it into several runs"
            )

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"

    def hours(self) -> list[datetime]:
        """Every clock hour the window touches: the archive's hour partitions to read."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        hours = []
        while hour < self.end:
            hours.append(hour)
            hour += timedelta(hours=1)
        return hours


def _instant(name: str, text: object) -> datetime:
    if isinstance(text, datetime):
        return text
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
    return value


def parse_window(start: object, end: object, *, now: datetime | None = None) -> Window:
    """The window [start, end) from ISO 8601 text, or ``WindowRefused`` with the reason.

    Given ``now``, a window that ends after it is refused too: the backfill DAG passes the
    present, because the streaming refresh owns it.
    """
    window = Window(_instant("window_start", start), _instant("window_end", end))
    if now is not None and window.end > now:
        raise WindowRefused(
            f"window_end {window.end.isoformat()} is in the future: the streaming refresh owns "
            "the present"
        )
    return window

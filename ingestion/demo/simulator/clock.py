"""Virtual-clock instants as integer microseconds since the Unix epoch, and their RFC 3339 text.

Integers keep the schedule exact (record i of a phase is due at a whole microsecond) and make
the emitted_at in a record's bytes equal, to the microsecond, the time it is scheduled to be sent.
"""

from datetime import UTC, date, datetime, timedelta
from functools import cache

_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: UTC arithmetic, offset by hand
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_HOUR_US = 3_600_000_000


def to_micros(instant: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive ones are ambiguous: refused)."""
    if instant.tzinfo is None:
        raise ValueError(f"a naive datetime is ambiguous; pass an aware one, got {instant!r}")
    return (instant - _EPOCH_UTC) // timedelta(microseconds=1)


def to_datetime(micros: int) -> datetime:
    """The aware UTC datetime of an epoch-microsecond instant."""
    return _EPOCH_UTC + timedelta(microseconds=micros)


def utc_text(micros: int, timespec: str = "microseconds") -> str:
    """RFC 3339 in UTC with a Z offset, e.g. 2026-03-02T17:04:05.123456Z."""
    return (_EPOCH + timedelta(microseconds=micros)).isoformat(timespec=timespec) + "Z"


@cache
def _daylight_span(year: int) -> tuple[int, int]:
    """US Pacific daylight time in a year: second Sunday of March 2:00 PST to the first Sunday
    of November 2:00 PDT, as epoch microseconds. Computed rather than read from tzdata so
    output is identical on hosts with and without a time zone database."""
    march = date(year, 3, 1)
    start = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
    november = date(year, 11, 1)
    end = november + timedelta(days=(6 - november.weekday()) % 7)
    start_at = datetime(year, start.month, start.day, 10, tzinfo=UTC)
    end_at = datetime(year, end.month, end.day, 9, tzinfo=UTC)
    return to_micros(start_at), to_micros(end_at)


def pacific_offset_hours(micros: int) -> int:
    """-7 during Pacific daylight time, else -8."""
    start, end = _daylight_span((_EPOCH + timedelta(microseconds=micros)).year)
    return -7 if start <= micros < end else -8


def pacific_text(micros: int) -> str:
    """RFC 3339 in Pacific local time with its offset, as warehouse and partner systems send."""
    offset = pacific_offset_hours(micros)
    local = _EPOCH + timedelta(microseconds=micros + offset * _HOUR_US)
    return f"{local.isoformat(timespec='milliseconds')}-0{-offset}:00"


def pacific_date(micros: int) -> date:
    """The local calendar date in Alameda County at an instant."""
    return (
        _EPOCH + timedelta(microseconds=micros + pacific_offset_hours(micros) * _HOUR_US)
    ).date()

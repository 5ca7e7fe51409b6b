"""One window type with one set of rules, however the window is made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from ingestion.cli import app
from ingestion.replay.window import MAX_WINDOW, Window, WindowRefused, parse_window

START = datetime(2026, 11, 24, 8, tzinfo=UTC)


def test_bounds_are_normalised_to_utc_and_the_hours_cover_the_window() -> None:
    window = Window(START.astimezone(timezone(timedelta(hours=-8))), START + timedelta(hours=2))
    assert window.start.tzinfo == UTC and window.start == START
    assert window.hours() == [START, START + timedelta(hours=1)]


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (START.replace(tzinfo=None), START + timedelta(hours=1), "need a time zone"),
        (START, START, "the bounds look reversed"),
        (START, START + MAX_WINDOW + timedelta(seconds=1), "split it into several runs"),
    ],
)
def test_a_window_made_in_code_obeys_the_same_rules(
    start: datetime, end: datetime, reason: str
) -> None:
    with pytest.raises(WindowRefused, match=reason):
        Window(start, end)


def test_the_parser_accepts_datetimes_and_text_alike() -> None:
    text = parse_window("2026-11-24T08:00:00Z", "2026-11-24T09:00:00+00:00")
    assert text == parse_window(START, START + timedelta(hours=1))


@pytest.mark.parametrize("command", ["replay", "reconcile"])
def test_the_cli_refuses_a_window_with_the_parsers_reason(command: str) -> None:
    result = CliRunner().invoke(
        app, [command, "--start", "2026-11-24T08:00:00", "--end", "2026-11-24T09:00:00Z"]
    )
    assert result.exit_code == 2
    assert "has no time zone" in result.output

"""The demo report's freshness picture, from a built warehouse's refresh log."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image
from rich.console import Console

from ingestion.config.settings import Settings
from ingestion.serving.freshness_plot import plot_path, print_freshness, read_series, sparkline


def test_the_report_ends_with_a_png_and_a_sparkline_of_each_refresh(
    served: Settings, tmp_path: Path
) -> None:
    series = read_series(served.warehouse_path)
    # The corpus is built in two refreshes, emitted three minutes before the first.
    assert len(series.p95_seconds) == 2
    assert all(150 < p95 < 600 for p95 in series.p95_seconds)
    assert all(p50 <= p95 for p50, p95 in zip(series.p50_seconds, series.p95_seconds, strict=True))

    out = io.StringIO()
    warehouse_copy = tmp_path / "run.duckdb"
    warehouse_copy.write_bytes(served.warehouse_path.read_bytes())
    png = print_freshness(Console(file=out, width=200), warehouse_copy)

    assert png == plot_path(warehouse_copy) == tmp_path / "run.freshness.png"
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size == (990, 440)
        # Not a blank canvas: the lines and the objective's red line are drawn.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 50
    text = out.getvalue()
    assert sparkline(series.p95_seconds) in text and str(png) in text
    assert "accfb dashboard" in text


def test_a_sparkline_has_one_bar_per_refresh_rising_with_the_value() -> None:
    line = sparkline([10.0, 60.0, 120.0, 240.0])
    assert len(line) == 4
    assert list(line) == sorted(line)
    assert line[-1] == "█"

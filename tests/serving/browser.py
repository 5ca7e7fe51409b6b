"""Debian's Chromium driven by Playwright (no browser download here), and the servers it visits.

A page's console errors and uncaught exceptions are collected from the moment it opens, so a
test can assert there were none.
"""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_fixed

from ingestion.config.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium reaches for Google's services, which this
# closed network refuses; a refused connection is not what these tests are about.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot_dir() -> Path:
    """Under the state dir of the environment the tests run in (`.accfb/` by default)."""
    path = Settings().state_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # Playwright gives each launch a fresh temporary profile (user data dir).
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    page: Page
    errors: list[str] = field(default_factory=list)

    def console_errors(self, ignore: Sequence[str] = ()) -> list[str]:
        return [e for e in self.errors if not any(part in e for part in ignore)]


def open_page(browser: Browser) -> WatchedPage:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watched = WatchedPage(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(f"{message.text} at {message.location.get('url', '')}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    return watched


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes an `accfb` process use these settings."""
    return {
        "ACCFB_STATE_DIR": str(settings.state_dir),
        "ACCFB_WAREHOUSE_PATH": str(settings.warehouse_path),
        "ACCFB_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
        "ACCFB_STREAM_NAME": settings.stream_name,
        "ACCFB_RAW_BUCKET": settings.raw_bucket,
    }


@retry(
    retry=retry_if_exception_type((urllib.error.URLError, ConnectionError)),
    wait=wait_fixed(0.5),
    stop=stop_after_delay(300),
    reraise=True,
)
def _wait_until_served(url: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        raise RuntimeError(f"the server exited with {process.returncode} before serving {url}")
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
        response.read()


@contextmanager
def server(command: Sequence[str], env: Mapping[str, str], url: str) -> Iterator[None]:
    """Run a server in its own process group until ``url`` answers; stop the group after."""
    process = subprocess.Popen(list(command), env={**os.environ, **env}, start_new_session=True)
    try:
        _wait_until_served(url, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

"""Headless Chromium from Debian's packages, driven by Playwright, against a live server on the
demo company (never a browser download: without /usr/bin/chromium these tests skip)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@contextmanager
def chromium_context(**options: Any) -> Iterator[Any]:
    """A fresh browser with an empty profile; skips the test when Chromium is missing."""
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed at /usr/bin/chromium "
            "(`make test` installs it with apt-get when run as root)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tempfile.mkdtemp(prefix="commattr-chromium-")
    try:
        with sync_api.sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=CHROMIUM_FLAGS,
                **options,
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under var/screenshots/, the test's artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def painted_pixels(page: Any, selector: str) -> int:
    """How many pixels of a canvas have been drawn on (not fully transparent)."""
    return int(
        page.eval_on_selector(
            selector,
            """canvas => {
                const data = canvas.getContext("2d")
                    .getImageData(0, 0, canvas.width, canvas.height).data;
                let painted = 0;
                for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) painted++; }
                return painted;
            }""",
        )
    )

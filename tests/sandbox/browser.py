"""Debian's Chromium, headless, driven by Playwright: skipped with the reason where either is
missing, failed instead under `CI=true` (whose `.ci/run` installs both), as for every real peer
(tests/fixtures/binaries.py). Playwright never downloads a browser here: it is pointed at the
system's Chromium through `executable_path`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.fixtures.binaries import require_binary


@pytest.fixture
async def browser_page() -> AsyncIterator[object]:
    chromium = require_binary("chromium", package="chromium")
    try:
        from playwright.async_api import async_playwright
    except ImportError as exc:  # the `test` extra was not installed
        reason = f"playwright is not installed ({exc}); pip install -e '.[test]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true requires {reason}")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            yield page
        finally:
            await browser.close()

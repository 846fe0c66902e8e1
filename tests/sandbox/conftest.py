"""Fixtures for the browser tests: one headless Chromium per test module, and per test a fresh
`python -m bot run` sandbox (its own database) with a page open on it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from tests.sandbox.harness import CHROMIUM, SandboxServer, Watched, launch_chromium


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """Module-scoped on purpose: while Playwright's sync API is open, asyncio believes a loop is
    running in this thread, so the async tests that follow must not run inside its lifetime."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (tools/ensure-chromium.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path: Path, data_dir: Path, sqlite_template: Path) -> Iterator[SandboxServer]:
    """The sandbox; every day is a digest day, so "next morning" always brings the daily digest."""
    running = SandboxServer(tmp_path / "sandbox", data_dir, database=sqlite_template, DIGEST_DAYS="Mon-Sun").start()
    try:
        yield running
    finally:
        code = running.stop()
        assert code == 0, f"the sandbox exited with {code}:\n{running.log()}"
    assert not running.problems(), running.log()


@pytest.fixture
def watched(browser, server: SandboxServer) -> Iterator[Watched]:
    """The sandbox page, loaded and connected to the bot's event stream."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = Watched(page)
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]")
    yield seen
    context.close()
    assert not seen.errors, seen.errors

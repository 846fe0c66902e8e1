"""Take the README's screenshots of the sandbox: `python -m tests.sandbox.screenshot [DIR]`.

Starts `python -m bot run` as `make demo` does (the project's model in var/, a throwaway
database) for each picture, does what a person would, and photographs it at desktop width
(1440 px) and phone width (420 px), into DIR (default docs/):
- sandbox.png, sandbox-phone.png: a pasted error in the DM, diagnosed;
- escalation.png, escalation-phone.png: "Ask a person" after "Still failing", the request as
  it reaches #sync-escalations (the pasted error, the diagnosis, what was tried, Claim).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

from playwright.sync_api import Page, expect, sync_playwright

from tests.sandbox.harness import PROJECT_ROOT, SandboxServer, launch_chromium

ERROR = ("Duplicate Name Exists Error. The name supplied already exists. Another customer, supplier, "
         "or employee is already using this name. Please use a different name.")
SIZES = {"": {"width": 1440, "height": 1010}, "-phone": {"width": 420, "height": 900}}


def ask(page: Page) -> Any:
    page.locator("#input").fill(ERROR)
    page.locator("#input").press("Enter")
    answer = page.locator("#messages .msg.bot").first
    expect(answer.locator(".bk-actions")).to_be_visible(timeout=30_000)
    return answer


def diagnosis(page: Page) -> None:
    ask(page)
    page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")


def escalation(page: Page) -> None:
    answer = ask(page)
    answer.get_by_role("button", name="Still failing").click()
    failing = page.locator("#messages .thread .msg.bot").first
    failing.get_by_role("button", name="Ask a person").click()
    expect(failing.locator('[data-block-id="syncmedic_note"]')).to_be_visible(timeout=30_000)
    page.evaluate("location.hash = '#C0ESCALATE'")
    post = page.locator("#messages .msg.bot").last
    expect(post.get_by_role("button", name="Claim")).to_be_visible(timeout=30_000)
    post.scroll_into_view_if_needed()


SHOTS: dict[str, Callable[[Page], None]] = {"sandbox": diagnosis, "escalation": escalation}


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else PROJECT_ROOT / "docs"
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for name, steps in SHOTS.items():
            for suffix, viewport in SIZES.items():
                with tempfile.TemporaryDirectory() as work:
                    server = SandboxServer(Path(work), None).start()
                    try:
                        page = browser.new_page(viewport=viewport)
                        page.goto(server.url)
                        page.wait_for_selector("body[data-ready=true]")
                        steps(page)
                        path = target / f"{name}{suffix}.png"
                        page.screenshot(path=str(path))
                        page.close()
                        print(f"saved {path}")
                    finally:
                        server.stop()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Take the README's screenshots of the daily digest, at desktop and at phone width:
`python -m tests.sandbox.digest_screenshots [docs/]` writes digest-desktop.png and digest-phone.png.

Starts `python -m bot run` as `make demo` does (the project's model in var/, a throwaway
database), asks one question in the DM (a chat case), imports the sample sync history, posts
the digest, and opens one group's "⋯" menu."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.sandbox.harness import PROJECT_ROOT, SandboxServer, launch_chromium

QUESTION = ('Product "Oak Side Table" in "SO-10452" has not been exported to QuickBooks. '
            "Please check the export status in sync history")
SIZES = {"desktop": {"width": 1440, "height": 1010}, "phone": {"width": 420, "height": 900}}


def digest_page(browser, url: str, size: dict, phone: bool):
    page = browser.new_page(viewport=size, device_scale_factor=2 if phone else 1)
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else PROJECT_ROOT / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        server = SandboxServer(Path(work), None).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = digest_page(browser, server.url, SIZES["desktop"], False)
                page.locator("#input").fill(QUESTION)
                page.locator("#input").press("Enter")
                expect(page.locator(".msg.bot .bk-actions")).to_be_visible(timeout=30_000)
                page.get_by_role("button", name="Import sample sync history").click()
                expect(page.locator("#toast")).to_contain_text("Imported")
                page.get_by_role("button", name="Post digest now").click()
                digest = page.locator("#messages .msg.bot").last
                expect(digest.locator(".bk-header")).to_contain_text("Sync errors still open")
                page.locator("#toast").evaluate("n => { n.hidden = true; }")
                menu = digest.locator('.bk-section[data-block-id="syncmedic_digest:bill_not_exported"]')
                menu.get_by_role("button", name="More actions").click()
                digest.scroll_into_view_if_needed()
                page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
                page.screenshot(path=str(folder / "digest-desktop.png"))

                phone = digest_page(browser, server.url + "#C0QBOSYNC", SIZES["phone"], True)
                digest = phone.locator("#messages .msg.bot").last
                expect(digest.locator(".bk-header")).to_contain_text("Sync errors still open")
                digest.locator(".bk-header").scroll_into_view_if_needed()
                phone.locator(".msg-group").last.evaluate("n => n.scrollIntoView({block: 'start'})")
                phone.screenshot(path=str(folder / "digest-phone.png"))
                browser.close()
        finally:
            server.stop()
    print(f"saved {folder / 'digest-desktop.png'} and {folder / 'digest-phone.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

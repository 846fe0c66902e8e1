"""Take the README's screenshot of the sandbox: `python -m tests.sandbox.screenshot [docs/sandbox.png]`.

Starts `python -m bot run` as `make demo` does (the project's model in var/, a throwaway
database), pastes an error into the DM and photographs the diagnosis.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.sandbox.harness import PROJECT_ROOT, SandboxServer, launch_chromium

ERROR = ("Duplicate Name Exists Error. The name supplied already exists. Another customer, supplier, "
         "or employee is already using this name. Please use a different name.")


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else PROJECT_ROOT / "docs" / "sandbox.png"
    with tempfile.TemporaryDirectory() as work:
        server = SandboxServer(Path(work), None).start()
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1440, "height": 1010})
                page.goto(server.url)
                page.wait_for_selector("body[data-ready=true]")
                page.locator("#input").fill(ERROR)
                page.locator("#input").press("Enter")
                expect(page.locator(".msg.bot .bk-actions")).to_be_visible(timeout=30_000)
                page.locator("#messages").evaluate("box => { box.scrollTop = 0; }")
                target.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(target))
                browser.close()
        finally:
            server.stop()
    print(f"saved {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

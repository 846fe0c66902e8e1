"""The README's screenshots of the admin's report: `python -m tests.sandbox.insights_screenshot`.

docs/report.png: `python -m bot report --html` over a made-up month (benchmarks/history.py: 600
cases and their clicks, 250 refused messages, imported sync errors), opened in Chromium.
docs/sandbox-insights.png: the sandbox (`python -m bot run`, a throwaway database) after a few
conversations and the sample import, on its Insights view. Playwright and Debian's Chromium, as
in the tests.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

from tests.sandbox.harness import PROJECT_ROOT, SandboxServer, launch_chromium

SAID = [
    'Product "Oak Side Table" in "SO-10452" has not been exported to QuickBooks. Please check the export status',
    "ERROR CODE:5010 Stale Object Error when syncing invoice INV-2231",
    "QuickBooks says Stale Object Error again on SO-00412, what does it mean?",
    "The transaction needs to be in the same currency as the A/R and A/P accounts you use.",
    "how do I add a new user to DEAR and give them sales access?",
]


def report_page(target: Path, work: Path) -> None:
    from benchmarks.history import make_history
    from bot.core.insights.period import last_days
    from bot.core.insights.render import report_renderer
    from bot.core.insights.report import build_report
    from bot.core.storage.store import Store
    from bot.settings import Settings
    from bot.wiring import build_core

    core = build_core(Settings.from_env())
    store = Store.from_url(f"sqlite:///{work / 'month.db'}")
    now = datetime(2026, 5, 1, 9, tzinfo=timezone.utc)
    codes = core.engine.lookups.codes
    make_history(store, [i.id for i in core.catalog.problems], now, cases=600, refused=250, sync_errors=60,
                 questions={i.id: i.title for i in core.catalog.problems},
                 code_of=lambda t: (hit.code if (hit := codes.find(t)) else ""))
    report = build_report(store, core.engine, last_days(now), now, retention=timedelta(days=30))
    page = work / "report.html"
    page.write_text(report_renderer(core.renderer).html(report), encoding="utf-8")
    store.engine.dispose()
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        tab = browser.new_page(viewport={"width": 1100, "height": 1500})
        tab.goto(page.as_uri())
        target.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(target))
        browser.close()


def sandbox_view(target: Path, work: Path) -> None:
    server = SandboxServer(work / "sandbox", None).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 1010})
            page.goto(server.url)
            page.wait_for_selector("body[data-ready=true]")
            for text in SAID:
                before = page.locator("#messages .msg.bot").count()
                page.locator("#input").fill(text)
                page.locator("#input").press("Enter")
                expect(page.locator("#messages .msg.bot")).to_have_count(before + 1, timeout=30_000)
            page.locator("#messages .msg.bot").first.get_by_role("button", name="Fixed it").click()
            page.get_by_role("button", name="Import sample sync history").click()
            expect(page.locator("#toast")).to_contain_text("Imported")
            expect(page.locator("#toast")).to_be_hidden(timeout=30_000)
            page.locator("#insights-tab").click()
            expect(page.locator("#insights svg.chart")).to_have_count(4, timeout=30_000)
            page.screenshot(path=str(target))
            browser.close()
    finally:
        server.stop()


def main(argv: list[str]) -> int:
    docs = PROJECT_ROOT / "docs"
    with tempfile.TemporaryDirectory() as work:
        report_page(docs / "report.png", Path(work))
        sandbox_view(docs / "sandbox-insights.png", Path(work))
    print(f"saved {docs / 'report.png'} and {docs / 'sandbox-insights.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

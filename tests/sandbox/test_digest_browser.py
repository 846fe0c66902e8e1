"""The daily digest in the sandbox, in a real browser: every control of every group clicked,
each answered next to what was clicked; and the sandbox on a phone (420 px wide).

Through the page as a person uses it (the "⋯" menu of a group, the "☰" and "Controls" buttons
on a phone) on `python -m bot run`; the page's console must stay free of errors."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.sandbox.harness import SandboxServer, Watched
from tests.sandbox.test_browser import PRODUCT, bot_messages, next_bot_message, open_conversation, thread_of

PHONE = {"width": 420, "height": 860}


def post_digest(page: Page):
    """Import the sample sync history and post the digest; returns the digest message."""
    page.get_by_role("button", name="Import sample sync history").click()
    expect(page.locator("#toast")).to_contain_text("Imported sample-sync-history.csv")
    open_conversation(page, "qbo-sync")
    before = bot_messages(page).count()
    page.get_by_role("button", name="Post digest now").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    return bot_messages(page).nth(before)


def group(digest, intent: str):
    return digest.locator(f'.bk-section[data-block-id="syncmedic_digest:{intent}"]')


def note_under(digest, intent: str):
    """The note a control leaves: the very next block after the group's section."""
    return digest.locator(f'.bk-section[data-block-id="syncmedic_digest:{intent}"] + .bk-context')


def choose(digest, intent: str, option: str) -> None:
    menu_button = group(digest, intent).get_by_role("button", name="More actions")
    menu_button.click()
    items = group(digest, intent).get_by_role("menuitem")
    expect(items).to_have_text(["Show the fix", "Mark resolved", "Snooze a day"])
    items.filter(has_text=option).click()


def test_every_control_of_the_digest_answers_next_to_it(watched: Watched, catalog) -> None:
    page = watched.page
    next_bot_message(page, PRODUCT)           # a question in the DM: a chat case in the digest
    digest = post_digest(page)

    # The header: open now, new and fixed since the last digest, the 14-day trend.
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 13")
    stats = digest.locator('.bk-context[data-block-id="syncmedic_digest_stats"]')
    expect(stats).to_contain_text("new,")
    expect(stats).to_contain_text(re.compile(r"Last 14 days: [▁▂▃▄▅▆▇█]{14} \(\d+ → 13 open\)"))
    # One compact section a group, biggest first; entries say what they are and who asked.
    orders = group(digest, "order_product_not_exported")
    expect(orders).to_contain_text("3 open")
    expect(orders).to_contain_text("Sale SO-10452: Oak Side Table")
    expect(orders).to_contain_text("Sale SO-10466: Walnut Shelf")
    expect(orders).to_contain_text("@You asked “Product \"Oak Side Table\" in \"SO-10452\" has not…” (SO-10452)")
    expect(digest.locator(".bk-btn")).to_have_count(0)                     # no rows of buttons
    expect(digest.get_by_role("button", name="More actions")).to_have_count(10)   # one menu a group

    # Show the fix: the fix in the digest's thread, and a note under the group saying so.
    bills = catalog.title("bill_not_exported")
    choose(digest, "bill_not_exported", "Show the fix")
    expect(note_under(digest, "bill_not_exported")).to_have_text(
        "@You asked for the fix: it is in this message's thread.")
    expect(thread_of(page, digest).locator(".thread .msg.bot .bk-header")).to_have_text(bills)

    # Mark resolved: the group settles in place, and the header is recounted in place.
    choose(digest, "bill_not_exported", "Mark resolved")
    expect(note_under(digest, "bill_not_exported")).to_have_text("@You marked 2 entries resolved.")
    expect(group(digest, "bill_not_exported").get_by_role("button", name="More actions")).to_have_count(0)
    expect(group(digest, "bill_not_exported")).to_have_text(re.compile(r"^" + re.escape(bills) + r" · 2 open"))
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 11")
    expect(stats).to_contain_text("2 fixed")

    # Snooze a day: said under the group, and in the header.
    duplicate = catalog.title("duplicate_name")
    choose(digest, "duplicate_name", "Snooze a day")
    expect(note_under(digest, "duplicate_name")).to_contain_text("Snoozed by @You: left out of the digest until")
    expect(stats).to_contain_text(f"Snoozed for a day: {duplicate} (1)")
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 11")   # snoozed is still open

    # The next digest leaves out what was resolved and what is snoozed.
    before = bot_messages(page).count()
    page.get_by_role("button", name="Post digest now").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    again = bot_messages(page).nth(before)
    expect(again.locator(".bk-header")).to_have_text("Sync errors still open: 11")
    expect(group(again, "bill_not_exported")).to_have_count(0)
    expect(group(again, "duplicate_name")).to_have_count(0)
    expect(group(again, "order_product_not_exported")).to_have_count(1)


def test_the_sandbox_on_a_phone(browser, server: SandboxServer, tmp_path) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = Watched(page)
    page.goto(server.url)
    page.wait_for_selector("body[data-ready=true]")

    # One row of top bar: everything in it on one line, nothing wider than the screen.
    bar = page.evaluate("""() => {
        const bar = document.querySelector(".topbar").getBoundingClientRect();
        const shown = [...document.querySelectorAll(".topbar > *")].filter((n) => n.offsetParent !== null)
            .map((n) => n.getBoundingClientRect());
        const middle = bar.top + bar.height / 2;
        return {height: bar.height, offRow: Math.max(...shown.map((r) => Math.abs(r.top + r.height / 2 - middle))),
                right: Math.max(...shown.map((r) => r.right)), pageWidth: document.documentElement.scrollWidth};
    }""")
    assert bar["height"] <= 52 and bar["offRow"] <= 6, bar
    assert bar["right"] <= PHONE["width"] and bar["pageWidth"] <= PHONE["width"], bar
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#sidebar")).to_be_hidden()

    # The conversations behind "☰": open it, pick a channel, it closes again.
    page.get_by_role("button", name="Conversations").click()
    expect(page.locator("#sidebar")).to_be_visible()
    page.locator("nav .conv").filter(has=page.get_by_text("qbo-sync", exact=True)).click()
    expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.locator("#conv-title")).to_have_text("#qbo-sync")

    # The controls in one menu.
    page.get_by_role("button", name="Controls").click()
    expect(page.locator("#controls")).to_be_visible()
    page.get_by_role("button", name="Import sample sync history").click()
    expect(page.locator("#controls")).to_be_hidden()
    expect(page.locator("#toast")).to_contain_text("Imported sample-sync-history.csv")
    page.get_by_role("button", name="Controls").click()
    page.get_by_role("button", name="Post digest now").click()
    digest = bot_messages(page).last
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 12")

    # The messages use the width, and the digest's menus work at this width.
    width = digest.locator(".bk").evaluate("n => n.getBoundingClientRect().width")
    assert width >= PHONE["width"] - 70, width
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    choose(digest, "bill_not_exported", "Mark resolved")
    expect(note_under(digest, "bill_not_exported")).to_have_text("@You marked 2 entries resolved.")
    shot = tmp_path / "phone.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    context.close()
    assert not seen.errors, seen.errors

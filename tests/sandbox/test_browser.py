"""The sandbox in a real browser: headless Chromium, driven by Playwright, on `python -m bot run`.

Every test goes through the page the way a person would (typing, clicking, picking from menus)
and checks what the page then shows; the page's console must stay free of errors (checked
when each test ends, with the server's log)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.sandbox.harness import Watched

DUPLICATE = ("Duplicate Name Exists Error. The name supplied already exists. Another customer, supplier, "
             "or employee is already using this name. Please use a different name.")
PRODUCT = ('Product "Oak Side Table" in "SO-10452" has not been exported to QuickBooks. '
           "Please check the export status in sync history")
CURRENCY = "The transaction needs to be in the same currency as the A/R and A/P accounts you use."


def bot_messages(page: Page):
    return page.locator("#messages .msg.bot")


def say(page: Page, text: str) -> None:
    page.locator("#input").fill(text)
    page.locator("#input").press("Enter")
    expect(page.locator("#input")).not_to_have_value(text)  # sent: the composer was cleared


def next_bot_message(page: Page, text: str):
    """Send `text` in the open conversation and return the bot's answer to it (in a DM the
    answers come one after another)."""
    before = bot_messages(page).count()
    say(page, text)
    expect(bot_messages(page)).to_have_count(before + 1)
    return bot_messages(page).nth(before)


def thread_of(page: Page, message):
    """A message with its thread (the replies nested under it)."""
    return page.locator(f'.msg-group[data-root="{message.get_attribute("data-ts")}"]')


def open_conversation(page: Page, name: str) -> None:
    page.locator("nav .conv").filter(has=page.get_by_text(name, exact=True)).click()
    expect(page.locator("#conv-title")).to_have_text(re.compile(re.escape(name)))


def cases(page: Page) -> dict:
    response = page.request.get(page.url.split("#")[0] + "sandbox/cases")
    assert response.ok
    return response.json()


def test_a_pasted_error_is_diagnosed_and_every_button_works(watched: Watched, catalog) -> None:
    page = watched.page
    expect(page.locator("#conv-title")).to_have_text("SyncMedic")  # the DM is where the page opens

    # Fixed it: the diagnosis settles in place, its buttons replaced by who fixed it.
    first = next_bot_message(page, DUPLICATE)
    expect(first.locator(".bk-header")).to_have_text(catalog.title("duplicate_name"))
    expect(first.locator(".bk-actions .bk-btn")).to_have_text(["Fixed it", "Still failing", "Not this"])
    expect(first.locator(".bk-btn.primary")).to_have_text("Fixed it")
    expect(first.locator(".bk-btn.danger")).to_have_text("Still failing")
    expect(first.locator(".bk-section strong").first).to_be_visible()   # *bold* drawn as bold
    first.get_by_role("button", name="Fixed it").click()
    expect(first.locator(".bk-btn")).to_have_count(0)
    expect(first.locator(".bk-context").last).to_have_text("Marked fixed by @You. Thanks for closing the loop.")

    # Still failing: a note under it offers a person or another diagnosis.
    second = next_bot_message(page, PRODUCT)
    expect(second.locator(".bk-header")).to_have_text(catalog.title("order_product_not_exported"))
    expect(second).to_contain_text("Oak Side Table")
    before = bot_messages(page).count()
    second.get_by_role("button", name="Still failing").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    note = bot_messages(page).nth(before)
    expect(note).to_contain_text("Sorry it is still failing")
    expect(note.locator(".bk-btn")).to_have_text(["Ask a person", "Not this"])

    # Ask a person: the escalation goes to #sync-escalations, with a link back to this DM.
    before = bot_messages(page).count()
    note.get_by_role("button", name="Ask a person").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).nth(before)).to_contain_text("I have asked for help in #sync-escalations")
    expect(page.locator("nav .conv").filter(has=page.get_by_text("sync-escalations", exact=True))
           .locator(".badge")).to_have_text("1")
    open_conversation(page, "sync-escalations")
    escalation = bot_messages(page).last
    expect(escalation).to_contain_text(f"Needs a person: {catalog.title('order_product_not_exported')}, "
                                       "reported by @You.")
    escalation.get_by_role("link", name="Open the thread").click()
    expect(page.locator("#conv-title")).to_have_text("SyncMedic")
    expect(page.locator(".msg.highlight")).to_have_count(1)

    # Not this: a menu of problems; picking one answers with it and settles the menu.
    third = next_bot_message(page, CURRENCY)
    expect(third.locator(".bk-header")).to_have_text(catalog.title("ar_ap_currency_mismatch"))
    before = bot_messages(page).count()
    third.get_by_role("button", name="Not this").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    menu = bot_messages(page).nth(before)
    expect(menu).to_contain_text("Which problem is it?")
    menu.locator("select.bk-select").select_option(label=catalog.title("period_closed"))
    expect(bot_messages(page)).to_have_count(before + 2)
    answer = bot_messages(page).nth(before + 1)
    expect(answer.locator(".bk-header")).to_have_text(catalog.title("period_closed"))
    expect(answer).to_contain_text("the problem you picked")
    expect(menu.locator("select")).to_have_count(0)
    expect(menu.locator(".bk-context")).to_have_text(f"@You chose: {catalog.title('period_closed')}")

    # What the database now says, through the page's own case list.
    listed = {c["intent"]: c["status"] for c in cases(page)["cases"]}
    assert listed == {"duplicate_name": "resolved", "order_product_not_exported": "escalated",
                      "period_closed": "open"}
    page.get_by_role("button", name="Cases").click()
    panel = page.locator("#cases")
    expect(panel.locator("tbody tr")).to_have_count(3)
    expect(panel).to_contain_text(catalog.title("period_closed"))
    expect(panel.locator(".status-resolved")).to_have_count(1)


def test_fast_forward_brings_the_check_in_and_the_digest(watched: Watched, catalog) -> None:
    page = watched.page
    title = catalog.title("duplicate_name")
    next_bot_message(page, DUPLICATE)

    page.get_by_role("button", name="+1 hour").click()
    expect(page.locator("#toast")).to_contain_text("0 check-ins sent")
    before = bot_messages(page).count()
    page.get_by_role("button", name="+4 hours").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    checkin = bot_messages(page).nth(before)
    expect(checkin).to_have_attribute("data-kind", "sync_checkin")
    expect(checkin.locator(".bk-text")).to_have_text(f"Checking in: did the fix for {title} work?")
    expect(checkin.locator("strong")).to_have_text(title)
    expect(checkin.locator(".bk-btn")).to_have_text(["Fixed it", "Still failing", "Snooze 1 hour",
                                                     "Ask me tomorrow morning"])

    # Snooze: settled with when it will ask again; an hour on, it asks again.
    checkin.get_by_role("button", name="Snooze 1 hour").click()
    expect(checkin.locator(".bk-context")).to_contain_text("Snoozed by @You: I will ask again")
    page.get_by_role("button", name="+1 hour").click()
    expect(bot_messages(page)).to_have_count(before + 2)
    again = bot_messages(page).nth(before + 1)
    expect(again).to_have_attribute("data-kind", "sync_checkin")
    again.get_by_role("button", name="Fixed it").click()
    expect(again.locator(".bk-context")).to_contain_text("Marked fixed by @You")

    # Nothing open any more: the digest, posted now, says all clear.
    page.get_by_role("button", name="Post digest now").click()
    expect(page.locator("#conv-title")).to_have_text("#qbo-sync")
    expect(bot_messages(page).last).to_contain_text("nothing is waiting")

    # The sample sync history: its open entries land in the next digest, grouped by cause.
    page.get_by_role("button", name="Import sample sync history").click()
    expect(page.locator("#toast")).to_contain_text("Imported sample-sync-history.csv: 17 rows, 13 new sync errors")
    before = bot_messages(page).count()
    page.get_by_role("button", name="Post digest now").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    digest = bot_messages(page).nth(before)
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 12")
    group = digest.locator(".bk-section", has_text=catalog.title("order_product_not_exported"))
    expect(group).to_contain_text("2 open")
    expect(group).to_contain_text("Sale SO-10452, Sale SO-10466")  # oldest first; SO-10453 has synced since
    expect(digest).to_contain_text("Purchase PO-2231, Purchase PO-2240")

    # "Show the fix" answers in the digest's thread; "Mark all resolved" settles that group.
    bills = catalog.title("bill_not_exported")
    actions = digest.locator('.bk-actions[data-block-id="syncmedic_digest:bill_not_exported"]')
    actions.get_by_role("button", name="Show the fix").click()
    thread = thread_of(page, digest).locator(".thread .msg.bot")
    expect(thread.locator(".bk-header")).to_have_text(bills)
    actions.get_by_role("button", name="Mark all resolved").click()
    expect(actions).to_have_count(0)
    expect(digest.locator(".bk-context", has_text="open entries resolved")).to_have_text(
        f"@You marked 2 open entries resolved: {bills}.")
    expect(digest.locator(".bk-actions")).to_have_count(9)  # the other groups keep their buttons

    # Next morning: the scheduled daily digest (every day is a digest day in this test).
    before = bot_messages(page).count()
    page.get_by_role("button", name="Next morning 09:00").click()
    expect(page.locator("#now")).to_contain_text("09:00")
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).nth(before).locator(".bk-header")).to_have_text("Sync errors still open: 10")


def test_a_mention_in_the_channel_is_answered_in_its_thread(watched: Watched, catalog) -> None:
    page = watched.page
    open_conversation(page, "qbo-sync")
    expect(page.locator("#input")).to_have_value("@SyncMedic ")
    page.locator("#input").press("End")
    page.locator("#input").type(CURRENCY)
    page.locator("#input").press("Enter")
    question = page.locator("#messages .msg.person").last
    expect(question.locator(".mention")).to_have_text("@SyncMedic")
    group = thread_of(page, question)
    reply = group.locator(".thread .msg.bot")
    expect(reply.locator(".bk-header")).to_have_text(catalog.title("ar_ap_currency_mismatch"))

    # In a thread the bot is helping in, a reply needs no mention.
    group.get_by_role("button", name="Reply in thread").click()
    expect(page.locator("#thread-target")).to_be_visible()
    page.locator("#input").fill(f"Now it says: {DUPLICATE}")
    page.locator("#input").press("Enter")
    expect(group.locator(".thread .msg.bot")).to_have_count(2)
    expect(group.locator(".thread .msg.bot").nth(1).locator(".bk-header")).to_have_text(
        catalog.title("duplicate_name"))
    expect(group.locator(".thread-count")).to_have_text("3 replies")


def test_what_people_type_is_shown_as_text_never_as_markup(watched: Watched) -> None:
    page = watched.page
    hostile = ('<img src="x" onerror="window.pwned=1"> <script>window.pwned=2</script> '
               "*bold* &amp; <b>not bold</b> <https://example.com|link>")
    next_bot_message(page, hostile)
    mine = page.locator("#messages .msg.person").last
    expect(mine.locator(".msg-text")).to_have_text(
        '<img src="x" onerror="window.pwned=1"> <script>window.pwned=2</script> '
        "bold &amp; <b>not bold</b> <https://example.com|link>")
    expect(mine.locator("strong")).to_have_text("bold")
    assert page.locator("#messages img, #messages script, #messages b, #messages a").count() == 0
    assert page.evaluate("window.pwned") is None


def test_mrkdwn_and_block_kit_rendering(watched: Watched) -> None:
    """The renderer on its own, with the shapes Slack's mrkdwn has (run in the page)."""
    page = watched.page
    html = page.evaluate("""() => {
        const ctx = {users: {U0YOU: {real_name: "You"}}, channels: [{id: "C0QBOSYNC", name: "qbo-sync"}]};
        const draw = (text) => { const d = document.createElement("div");
                                 d.appendChild(BlockKit.mrkdwn(text, ctx)); return d.innerHTML; };
        return {
            bold: draw("*Why* it _happens_ ~now~"),
            nested: draw("*1. _Title_*"),
            code: draw("run `python -m bot digest --preview` or ```a *b*\\nc```"),
            entities: draw("&lt;b&gt; &amp;amp; a &lt; b"),
            link: draw("<https://example.com/a?b=1&amp;c=2|Open it> <http://x.test>"),
            script: draw("<javascript:alert(1)|click> <mailto:a@b.test|mail>"),
            mentions: draw("<@U0YOU> in <#C0QBOSYNC> <!here> <!subteam^S01|@ops> <!date^0^{date}|1 Jan 1970>"),
            words: draw("snake_case_name and 2*3*4 stay plain"),
            newlines: draw("• one\\n• two"),
            blocks: BlockKit.render([
                {type: "header", text: {type: "plain_text", text: "<Title & co>"}},
                {type: "section", block_id: "s1", text: {type: "mrkdwn", text: "x"},
                 accessory: {type: "button", action_id: "go", text: {type: "plain_text", text: "Go"}}},
                {type: "divider"},
                {type: "context", elements: [{type: "mrkdwn", text: "_small_"}]},
                {type: "actions", block_id: "a1", elements: [
                    {type: "button", action_id: "b1", style: "danger", text: {type: "plain_text", text: "No"}},
                    {type: "static_select", action_id: "m1", placeholder: {type: "plain_text", text: "Pick"},
                     options: [{text: {type: "plain_text", text: "One"}, value: "1"}]}]},
                {type: "video"}], {onAction: null}).outerHTML,
        };
    }""")
    assert html["bold"] == "<strong>Why</strong> it <em>happens</em> <s>now</s>"
    assert html["nested"] == "<strong>1. <em>Title</em></strong>"
    assert html["code"] == ('run <code class="code">python -m bot digest --preview</code> or '
                            '<pre class="pre">a *b*\nc</pre>')
    assert html["entities"] == "&lt;b&gt; &amp;amp; a &lt; b"
    assert html["link"] == ('<a class="link" href="https://example.com/a?b=1&amp;c=2" target="_blank" '
                            'rel="noopener noreferrer">Open it</a> <a class="link" href="http://x.test" '
                            'target="_blank" rel="noopener noreferrer">http://x.test</a>')
    assert html["script"] == ('click <a class="link" href="mailto:a@b.test" target="_blank" '
                              'rel="noopener noreferrer">mail</a>')
    assert html["mentions"] == ('<span class="mention">@You</span> in <span class="mention channel">#qbo-sync</span> '
                                '<span class="mention">@here</span> <span class="mention">@ops</span> '
                                '<time class="date">1 Jan 1970</time>')
    assert html["words"] == "snake_case_name and 2*3*4 stay plain"
    assert html["newlines"] == "• one\n• two"
    blocks = html["blocks"]
    assert '<div class="bk-header">&lt;Title &amp; co&gt;</div>' in blocks
    assert ('<button class="bk-btn danger" type="button" data-action-id="b1" data-block-id="a1" '
            'disabled="">No</button>') in blocks
    assert '<option value="" disabled="">Pick</option><option value="1">One</option>' in blocks
    assert '<hr class="bk-divider">' in blocks
    assert "[unsupported block: video]" in blocks


def test_the_home_tab_lists_open_cases(watched: Watched, catalog) -> None:
    page = watched.page
    next_bot_message(page, PRODUCT)
    page.locator("#home-tab").click()
    home = page.locator("#home")
    expect(home.locator(".bk-header")).to_have_text("Your open sync problems")
    expect(home).to_contain_text(catalog.title("order_product_not_exported"))
    expect(home).to_contain_text("a direct message")
    open_conversation(page, "SyncMedic")
    expect(bot_messages(page)).to_have_count(1)


# -- insights -------------------------------------------------------------------------------------

REFUSED = "can you book a meeting room for Maria Lopez tomorrow? maria@example.com"


def test_the_insights_view_after_a_few_conversations_and_an_import(watched: Watched, catalog) -> None:
    page = watched.page
    next_bot_message(page, PRODUCT)
    next_bot_message(page, REFUSED)
    page.get_by_role("button", name="Import sample sync history").click()
    expect(page.locator("#toast")).to_contain_text("Imported sample-sync-history.csv")

    page.locator("#insights-tab").click()
    expect(page.locator("#conv-title")).to_have_text("Insights")
    view = page.locator("#insights")
    expect(view.locator(".syncmedic-report h1")).to_contain_text("What SyncMedic did")
    cards = view.locator(".card")
    expect(cards.first).to_contain_text("2")                                  # messages answered
    expect(cards.filter(has_text="refused")).to_contain_text("1")
    expect(view.locator("svg.chart")).to_have_count(4)
    expect(view.locator("svg#chart-weekly rect.bar").first).to_be_visible()
    expect(view.locator("svg#chart-open-by-age rect.bar")).to_have_count(4)   # the imported errors, by age
    gap = view.locator("article.gap").first
    expect(gap).to_contain_text("1 message from 1 person")
    expect(gap.locator("blockquote")).to_have_text("can you book a meeting room for [name] [name] tomorrow? [email]")
    expect(view).not_to_contain_text("Maria")
    expect(page.locator("#messages")).to_be_hidden()

    # The same report as a page of its own, as `python -m bot report --html` writes it.
    with page.context.expect_page() as opened:
        view.get_by_role("link", name=re.compile("Open as a page")).click()
    report = opened.value
    report_errors: list[str] = []
    report.on("console", lambda m: report_errors.append(m.text) if m.type == "error" else None)
    report.wait_for_load_state()
    expect(report.locator("svg.chart")).to_have_count(4)
    assert report_errors == []
    report.close()

    # Back to a conversation: the view goes away, the composer comes back.
    open_conversation(page, "SyncMedic")
    expect(view).to_be_hidden()
    expect(page.locator("#composer")).to_be_visible()


def test_the_html_report_opens_in_chromium_without_script(browser, tmp_path, core) -> None:
    """`--html`: one file, opened from disk with JavaScript off; the charts are there, drawn,
    and nothing is refused or missing (no console errors, no request at all)."""
    from datetime import timedelta

    from bot.core.insights.period import Period
    from bot.core.insights.render import report_renderer
    from bot.core.insights.report import build_report
    from bot.core.storage.store import Store
    from tests.core.insights.history import SINCE, UNTIL, Builder, at, hand_built

    store = Store.from_url(f"sqlite:///{tmp_path / 'history.db'}")
    hand_built(store)
    Builder(store).message(at(14, 9), "out_of_scope", "out_of_scope", text="<img src=x onerror=alert(1)> help")
    report = build_report(store, core.engine, Period(SINCE, UNTIL), UNTIL, retention=timedelta(days=30))
    page_file = tmp_path / "report.html"
    page_file.write_text(report_renderer(core.renderer).html(report), encoding="utf-8")
    store.engine.dispose()

    context = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    expect(page.locator("h1")).to_have_text("What SyncMedic did, 2026-03-02 to 2026-03-15")
    charts = page.locator("svg.chart")
    expect(charts).to_have_count(4)
    for chart in ("#chart-weekly", "#chart-self-service", "#chart-open-by-age", "#chart-gaps"):
        box = page.locator(chart).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100, chart
        assert page.locator(f"{chart} rect.bar").count() >= 1, chart
    # The stylesheet applied (inline styles are allowed by the page's own policy, nothing else).
    assert page.locator(".card").first.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    expect(page.locator("img")).to_have_count(0)                    # the sample's <img> is text
    expect(page.locator("article.gap").filter(has_text="onerror")).to_have_count(1)
    assert problems == [] and requests == [page_file.as_uri()]
    context.close()

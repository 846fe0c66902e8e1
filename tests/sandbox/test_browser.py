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


WEIRD = "the sync is acting weird since yesterday, any idea?"  # not recognised: the closest topics
TIME = r"today at \d\d:\d\d"


def note_of(message):
    """What the last click on `message` did, as the message itself now says (in place)."""
    return message.locator('[data-block-id="syncmedic_note"]')


def replies_to(page: Page, message):
    """The bot's replies in the thread of `message` (in a DM too: next to what was clicked)."""
    return thread_of(page, message).locator(".thread .msg.bot")


def in_thread_of(page: Page, message, count: int):
    """The thread of `message` once the bot has replied `count` times in it; its last reply."""
    replies = replies_to(page, message)
    expect(replies).to_have_count(count)
    return replies.nth(count - 1)


def test_every_button_of_a_diagnosis_answers_next_to_it(watched: Watched, core) -> None:
    page = watched.page
    catalog = core.catalog
    expect(page.locator("#conv-title")).to_have_text("SyncMedic")  # the DM is where the page opens
    answer = next_bot_message(page, DUPLICATE)
    expect(answer.locator(".bk-header")).to_have_text(catalog.title("duplicate_name"))
    expect(answer.locator(".bk-actions .bk-btn")).to_have_text(["Fixed it", "Still failing", "Not this"])
    expect(answer.locator(".bk-btn.primary")).to_have_text("Fixed it")
    expect(answer.locator(".bk-btn.danger")).to_have_text("Still failing")
    expect(answer.locator(".bk-section strong").first).to_be_visible()   # *bold* drawn as bold

    # Still failing: said on the answer itself; what to try next in its thread (not at the bottom).
    answer.get_by_role("button", name="Still failing").click()
    expect(note_of(answer)).to_have_text("@You says it is still failing. What to try next is in the thread.")
    failing = in_thread_of(page, answer, 1)
    expect(failing).to_contain_text("Sorry it is still failing")
    related = catalog["duplicate_name"].related[:3]
    expect(failing.locator(".bk-section strong")).to_have_text(
        ["It can also be one of these:", *(catalog.title(r) for r in related)])
    expect(failing.locator(".bk-btn")).to_have_text(["Show fix"] * len(related) + ["Ask a person", "Not this"])
    # ...and a second click on it says who said so already, and when.
    answer.get_by_role("button", name="Still failing").click()
    expect(note_of(answer)).to_have_text(re.compile(rf"^Already noted as still failing by @You {TIME}\.$"))

    # Not this: the menu, in the thread, names the diagnosis it replaces and leaves it out, the
    # model's most likely first, then A to Z.
    answer.get_by_role("button", name="Not this").click()
    expect(note_of(answer)).to_have_text("@You asked for another diagnosis: pick the problem from the list in the thread.")
    menu = in_thread_of(page, answer, 2)
    expect(menu).to_contain_text(f"Which problem is it, instead of {catalog.title('duplicate_name')}?")
    options = menu.locator("select.bk-select option:not([disabled])")
    titles = options.all_text_contents()
    others = [i.id for i in catalog.problems if i.id != "duplicate_name"]
    likely = [a.intent for a in core.engine.diagnose(DUPLICATE).alternatives if a.intent in others]
    assert catalog.title("duplicate_name") not in titles and len(titles) == len(others)
    assert titles[:len(likely)] == [catalog.title(i) for i in likely]
    assert titles[len(likely):] == sorted(titles[len(likely):], key=str.casefold)
    # Picking one answers with it in the same thread and settles the menu.
    picked = catalog.title("period_closed")
    menu.locator("select.bk-select").select_option(label=picked)
    fix = in_thread_of(page, answer, 3)
    expect(fix.locator(".bk-header")).to_have_text(picked)
    expect(fix).to_contain_text("the problem you picked")
    expect(menu.locator("select")).to_have_count(0)
    expect(note_of(menu)).to_have_text(f"@You chose: {picked}")

    # Ask a person (offered with what to try next): the escalation goes to #sync-escalations with
    # what a person needs; in a DM nobody else can reply, and the note says so, in place.
    failing.get_by_role("button", name="Ask a person").click()
    expect(note_of(failing)).to_contain_text("I have asked for help in #sync-escalations. Nobody else can write "
                                             "in this chat, so the person who picks it up will contact you directly")
    expect(note_of(failing)).not_to_contain_text("reply in this thread")
    expect(page.locator("nav .conv").filter(has=page.get_by_text("sync-escalations", exact=True))
           .locator(".badge")).to_have_text("1")
    open_conversation(page, "sync-escalations")
    escalation = bot_messages(page).last
    expect(escalation).to_contain_text(f"Needs a person: {picked}")
    expect(escalation.locator("pre")).to_have_text(DUPLICATE)                      # the pasted error
    expect(escalation).to_contain_text(f"Diagnosis: {picked} (confidence 100%)")   # the diagnosis
    expect(escalation).to_contain_text("a direct message with SyncMedic (only they can see it")
    for tried in ("Still failing, by @You", "Not this (asked for another diagnosis), by @You",
                  f"Picked another problem: {picked}, by @You"):
        expect(escalation).to_contain_text(tried)
    # Claim: the post says who has it, in place, and the asker is told where they asked.
    escalation.get_by_role("button", name="Claim").click()
    expect(note_of(escalation)).to_have_text(re.compile(rf"^Picked up by @You {TIME}\.$"))
    expect(escalation.locator(".bk-btn")).to_have_count(0)
    open_conversation(page, "SyncMedic")
    answer = bot_messages(page).first
    expect(replies_to(page, answer).last).to_contain_text("@You has picked this up and will contact you directly.")

    # The new answer's Fixed it settles it; the first answer's, clicked afterwards, says who and when.
    fix = replies_to(page, answer).nth(2)
    fix.get_by_role("button", name="Fixed it").click()
    expect(note_of(fix)).to_have_text("Marked fixed by @You. Thanks for closing the loop.")
    expect(fix.locator(".bk-btn")).to_have_count(0)
    answer.get_by_role("button", name="Fixed it").click()
    expect(note_of(answer)).to_have_text(re.compile(rf"^Already marked fixed by @You {TIME}\.$"))
    expect(answer.locator(".bk-btn")).to_have_count(0)

    # What the database now says, through the page's own case list.
    listed = {c["intent"]: c["status"] for c in cases(page)["cases"]}
    assert listed == {"period_closed": "resolved"}
    page.get_by_role("button", name="Cases").click()
    expect(page.locator("#cases tbody tr")).to_have_count(1)


def test_every_button_of_a_closest_topics_answer_answers_next_to_it(watched: Watched, catalog) -> None:
    page = watched.page
    answer = next_bot_message(page, WEIRD)
    expect(answer).to_contain_text("Closest topics I do know")
    expect(answer.locator(".bk-section .bk-btn").first).to_have_text("Show fix")
    expect(answer.locator(".bk-actions .bk-btn")).to_have_text(["Ask a person", "What can you do?"])

    # What can you do?: the help in the thread, said in place; a second click says it was done.
    answer.get_by_role("button", name="What can you do?").click()
    expect(note_of(answer)).to_have_text("The answer is in the thread.")
    expect(in_thread_of(page, answer, 1)).to_contain_text("I help with errors in the DEAR")
    answer.get_by_role("button", name="What can you do?").click()
    expect(note_of(answer)).to_have_text("That was already done on this message.")

    # Ask a person: escalated as not recognised; the answer says where, in place.
    answer.get_by_role("button", name="Ask a person").click()
    expect(note_of(answer)).to_contain_text("I have asked for help in #sync-escalations.")
    expect(in_thread_of(page, answer, 2)).to_contain_text("I have asked for help in #sync-escalations.")

    # Show fix: the topic's answer in the thread, the list settled; its buttons work (it has a case).
    topic = answer.locator(".bk-section", has=page.get_by_role("button", name="Show fix")).first
    title = topic.locator(".bk-text").inner_text().split("\n")[0].strip()
    topic.get_by_role("button", name="Show fix").click()
    fix = in_thread_of(page, answer, 3)
    expect(fix.locator(".bk-header")).to_have_text(title)
    expect(note_of(answer)).to_have_text(f"@You chose: {title}")
    expect(answer.locator(".bk-btn")).to_have_count(0)
    fix.get_by_role("button", name="Still failing").click()
    expect(note_of(fix)).to_have_text("@You says it is still failing. What to try next is in the thread.")
    expect(in_thread_of(page, answer, 4)).to_contain_text("Sorry it is still failing")
    fix.get_by_role("button", name="Not this").click()
    expect(note_of(fix)).to_contain_text("@You asked for another diagnosis")
    expect(in_thread_of(page, answer, 5)).to_contain_text(f"instead of {title}?")
    fix.get_by_role("button", name="Fixed it").click()
    expect(note_of(fix)).to_have_text("Marked fixed by @You. Thanks for closing the loop.")
    assert [c["status"] for c in cases(page)["cases"]] == ["resolved"]


def test_every_button_of_a_check_in_answers_next_to_it(watched: Watched, catalog) -> None:
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
    # The title on its own line: the question reads the same whatever the title's grammar.
    expect(checkin.locator(".bk-text")).to_have_text(f"Checking in on this sync problem:\n{title}\nIs it fixed now?")
    expect(checkin.locator(".bk-btn")).to_have_text(["Fixed it", "Still failing", "Snooze 1 hour",
                                                     "Ask me tomorrow morning"])

    # Snooze 1 hour: settled with when it asks again, from the sandbox's clock, in one format.
    checkin.get_by_role("button", name="Snooze 1 hour").click()
    expect(note_of(checkin)).to_have_text(re.compile(r"^Snoozed by @You: I will ask again (today|tomorrow) at "
                                                     r"\d\d:\d\d \(UTC\)\.$"))
    expect(checkin.locator(".bk-btn")).to_have_count(0)
    page.get_by_role("button", name="+1 hour").click()
    expect(bot_messages(page)).to_have_count(before + 2)
    again = bot_messages(page).nth(before + 1)

    # Still failing: said in place; what to try next in the check-in's thread.
    again.get_by_role("button", name="Still failing").click()
    expect(note_of(again)).to_have_text("@You says it is still failing. What to try next is in the thread.")
    expect(in_thread_of(page, again, 1)).to_contain_text("Sorry it is still failing")
    # Ask me tomorrow morning: settled with the morning it comes back.
    again.get_by_role("button", name="Ask me tomorrow morning").click()
    expect(note_of(again)).to_have_text(re.compile(r"^Snoozed by @You: I will ask again (today|tomorrow|on \w{3} "
                                                   r"\d+ \w{3}) at 09:00 \(UTC\)\.$"))
    expect(again.locator(".bk-btn")).to_have_count(0)
    before = bot_messages(page).count()
    page.get_by_role("button", name="Next morning 09:00").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    last = bot_messages(page).nth(before)
    expect(last).to_have_attribute("data-kind", "sync_checkin")
    last.get_by_role("button", name="Fixed it").click()
    expect(note_of(last)).to_have_text("Marked fixed by @You. Thanks for closing the loop.")


def test_the_digest_and_the_sample_import(watched: Watched, catalog) -> None:
    page = watched.page
    # Nothing open: the digest, posted now, says all clear.
    page.get_by_role("button", name="Post digest now").click()
    expect(page.locator("#conv-title")).to_have_text("#qbo-sync")
    expect(bot_messages(page).last).to_contain_text("nothing is waiting")

    # The sample sync history: every row in one bucket, so the toast adds up (17 rows).
    page.get_by_role("button", name="Import sample sync history").click()
    toast = page.locator("#toast")
    expect(toast).to_have_text(re.compile(
        r"^Imported sample-sync-history\.csv: 17 rows: 13 new sync errors, .*\. Post the digest to see them\.$"))
    assert sum(int(n) for n in re.findall(r"(\d+) [a-z]", toast.inner_text().split("rows:")[1])) == 17
    before = bot_messages(page).count()
    page.get_by_role("button", name="Post digest now").click()
    expect(bot_messages(page)).to_have_count(before + 1)
    digest = bot_messages(page).nth(before)
    expect(digest.locator(".bk-header")).to_have_text("Sync errors still open: 12")
    # (Every control of the digest: tests/sandbox/test_digest_browser.py.)

    # Next morning: the scheduled daily digest (every day is a digest day in this test).
    before = bot_messages(page).count()
    page.get_by_role("button", name="Next morning 09:00").click()
    expect(page.locator("#now")).to_contain_text("09:00")
    expect(bot_messages(page)).to_have_count(before + 1)
    expect(bot_messages(page).nth(before).locator(".bk-header")).to_have_text("Sync errors still open: 12")


def test_a_long_paste_is_collapsed_behind_show_more(watched: Watched) -> None:
    page = watched.page
    paste = "\n".join(f'Error: Bill "BILL-{n}" has not been exported to QuickBooks' for n in range(7700, 7730))
    next_bot_message(page, paste)
    mine = page.locator("#messages .msg.person").last
    text = mine.locator(".msg-text")
    expect(text).to_have_class(re.compile(r"\bcollapsed\b"))
    full = text.evaluate("node => node.scrollHeight")
    assert text.bounding_box()["height"] < full / 2  # only the first lines show
    mine.get_by_role("button", name="Show more").click()
    expect(text).not_to_have_class(re.compile(r"\bcollapsed\b"))
    assert text.bounding_box()["height"] >= full - 1
    expect(mine.get_by_role("button", name="Show less")).to_be_visible()
    next_bot_message(page, DUPLICATE)  # a short one has nothing to open
    expect(page.locator("#messages .msg.person").last.get_by_role("button", name="Show more")).to_have_count(0)


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
    expect(home).to_contain_text("Asked 1 min ago")
    # The sandbox's clock moved: the Home tab's ages move with it (one clock for everything).
    page.get_by_role("button", name="+4 hours").click()
    expect(home).to_contain_text("Asked 4 hours ago")
    open_conversation(page, "SyncMedic")
    expect(bot_messages(page)).to_have_count(2)  # the answer, and the check-in four hours on
    expect(bot_messages(page).last).to_have_attribute("data-kind", "sync_checkin")


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

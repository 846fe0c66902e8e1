"""Markdown characters in what users wrote reach Slack as themselves (issue 15, item 10).

A reference such as `*SO_12*`, a product named `Widget *XL*` or a pasted `~old~` used to be
rendered by Slack as formatting, and a `*` in a product name closed the bold we put around it.
mrkdwn has no escape for them; slack_literal shows each through a date fallback, which Slack
draws as plain text (bot/slack/format.py)."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from bot.core.cases.digest import build_digest
from bot.core.storage.store import Store
from bot.core.synchistory.ingest import import_rows
from bot.core.synchistory.parse import parse_json_rows
from bot.slack.format import slack_escape, slack_literal
from tests.support import strings

LITERAL = re.compile(r"<!date\^00000000\^\{_\}\|([*_~`])>")
PRODUCT = "Widget *XL* _v2_ ~old~ `beta`"


def as_shown(mrkdwn: str) -> str:
    """What the literal tokens show (their fallback): the text as the user typed it."""
    return LITERAL.sub(lambda m: m.group(1), mrkdwn)


def ours(mrkdwn: str) -> str:
    """The formatting characters left once the user's are taken out: only the layout's own."""
    return re.sub(r"[^*_~`]", "", LITERAL.sub("", mrkdwn))


def test_slack_literal_shows_formatting_characters_as_themselves():
    assert slack_literal("SO-1042") == "SO-1042"  # nothing to do: unchanged
    star = "<!date^00000000^{_}|*>"
    assert slack_literal("<!here> & *x*") == slack_escape("<!here> & ") + star + "x" + star
    assert as_shown(slack_literal(PRODUCT)) == PRODUCT
    assert ours(slack_literal(PRODUCT)) == ""


def test_a_product_name_with_markdown_stays_inside_the_bold_it_is_shown_in(core):
    text = f'Product "{PRODUCT}" in "SO_00412" has not been exported to QuickBooks'
    answer = core.engine.diagnose(text)
    product, order = answer.entities["product"], answer.entities["order"]
    assert "*XL*" in product and order == "SO_00412"
    payload = core.renderer.slack(answer)
    shown = [s for s in strings(payload["blocks"]) if "Widget" in s]
    assert shown, payload
    assert any("*" + slack_literal(product) + "*" in section for section in shown)  # the fix steps' bold
    for section in shown:  # those, and the evidence ("From your message: _..._")
        assert product in as_shown(section)
        assert ours(section).count("*") % 2 == 0 and ours(section).count("_") % 2 == 0  # ours, all closed


def test_digest_references_with_markdown_are_shown_as_typed(core, tmp_path):
    store = Store.from_url(f"sqlite:///{tmp_path / 'digest.db'}")
    try:
        references = ["*SO_2026_7*", "~INV-9~", "`B-12`"]
        rows = [{"date": "2026-03-01T09:00:00Z", "type": "Bill", "reference": ref, "status": "Error",
                 "message": f'Bill "{ref}" has not been exported to QuickBooks'} for ref in references]
        import_rows(store, core.engine, parse_json_rows(rows))
        digest = build_digest(store, core.catalog, datetime.now(timezone.utc))
        payload = core.renderer.digest("slack", digest)
    finally:
        store.engine.dispose()
    text = "\n".join(strings(payload["blocks"]))
    for ref in references:
        assert slack_literal(ref) in text
    assert ours(text).count("*") % 2 == 0 and "~" not in ours(text) and "`" not in ours(text)

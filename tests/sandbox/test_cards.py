"""Every Teams card as Microsoft's own Adaptive Cards renderer shows it (the npm `adaptivecards`
package with the Teams host config from Microsoft's card designer, Markdown by markdown-it, in
headless Chromium), and the confusion-matrix picture as a browser draws it.

tools/ensure-npm-packages.sh (run by `make test`) installs the packages into tools/npm/."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from bot.core.model.evaluation import Report, confusion_svg
from tests.core.replies.test_render import answer_cases
from tests.layouts import HOSTILE, HOSTILE_PRODUCT, teams_layouts
from tests.sandbox.harness import PROJECT_ROOT

NPM = PROJECT_ROOT / "tools" / "npm" / "node_modules"
ADAPTIVE_CARDS = NPM / "adaptivecards" / "dist" / "adaptivecards.js"
MARKDOWN_IT = NPM / "markdown-it" / "dist" / "markdown-it.min.js"
TEAMS_HOST_CONFIG = NPM / "adaptivecards-designer" / "lib" / "hostConfigs" / "microsoft-teams-light.json"
PHONE = 320   # px a card has on a phone (and in a narrow desktop column)

RENDER = """([cards, host, width]) => {
  const md = window.markdownit();   // Teams reads no HTML in a card, and joins single line breaks
  AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
    result.outputHtml = md.render(text); result.didProcess = true; };
  const box = document.getElementById("host");
  box.style.width = width + "px";
  return cards.map(([name, json]) => {
    const card = new AdaptiveCards.AdaptiveCard();
    card.hostConfig = new AdaptiveCards.HostConfig(host);
    const context = new AdaptiveCards.SerializationContext();
    card.parse(json, context);
    const problems = [];
    for (let i = 0; i < context.eventCount; i++) problems.push("parse: " + context.getEventAt(i).message);
    for (const e of card.validateProperties().validationEvents) problems.push("validate: " + e.message);
    const node = card.render();
    box.replaceChildren(node);
    const edge = box.getBoundingClientRect();
    const cut = [...node.querySelectorAll("button")].filter((b) => {
      const r = b.getBoundingClientRect();
      return r.right > edge.right + 0.5 || r.left < edge.left - 0.5 || b.scrollWidth > b.clientWidth + 1;
    }).map((b) => b.textContent);
    const titles = [...node.querySelectorAll(".ac-textBlock")].filter((t) => t.style.fontWeight >= 600)
      .map((t) => ({text: t.innerText, list: !!t.querySelector("ol, ul")}));
    return {name, problems, cut, text: node.innerText, html: node.innerHTML, titles,
            links: [...node.querySelectorAll("a")].map((a) => a.href),
            menus: [...node.querySelectorAll("button")].filter((b) => b.textContent === "...").length};
  });
}"""


@pytest.fixture(scope="module")
def cards_page(browser) -> Iterator[Any]:
    for path in (ADAPTIVE_CARDS, MARKDOWN_IT, TEAMS_HOST_CONFIG):
        if not path.exists():
            pytest.fail(f"{path} is missing: `make test` installs it (tools/ensure-npm-packages.sh)")
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.set_content('<!doctype html><html><body style="margin:0"><div id="host"></div></body></html>')
    page.add_script_tag(path=str(MARKDOWN_IT))
    page.add_script_tag(path=str(ADAPTIVE_CARDS))
    yield page
    page.close()


@pytest.fixture(scope="module")
def rendered(cards_page, core) -> dict[str, dict[str, Any]]:
    host = json.loads(TEAMS_HOST_CONFIG.read_text(encoding="utf-8"))
    cards = teams_layouts(core, answer_cases(core))
    return {r["name"]: r for r in cards_page.evaluate(RENDER, [cards, host, PHONE])}


def test_every_teams_card_parses_and_validates_in_microsofts_renderer(rendered):
    assert len(rendered) > 80
    problems = {name: r["problems"] for name, r in rendered.items() if r["problems"]}
    assert problems == {}   # e.g. "Required inputs should have a label" on the old "Not this" picker


def test_no_button_is_cut_short_on_a_phone(rendered):
    cut = {name: r["cut"] for name, r in rendered.items() if r["cut"]}
    assert cut == {}        # the old check-in's four buttons, the old topic buttons


def test_numbered_titles_are_titles_not_lists(rendered):
    titles = [t for t in rendered["answer:_two_errors"]["titles"] if t["text"][:2] in ("1.", "2.", "3.")]
    assert [t["text"][:2] for t in titles] == ["1.", "2.", "3."]
    assert not [t for t in titles if t["list"]]


def test_user_text_shows_as_typed_without_stray_backslashes(rendered):
    hostile = rendered["answer:hostile"]
    shown = hostile["text"].replace("\xa0", " ")
    assert "\\" not in shown
    # The quoted paste line and the product name exactly as typed: no list, link or emphasis.
    assert f"From your message: {HOSTILE}" in shown
    assert f"uses {HOSTILE_PRODUCT} that QuickBooks" in shown
    assert not [href for href in hostile["links"] if "evil.example" in href]
    assert "<em>Side</em>" not in hostile["html"] and "<em>Oak</em>" not in hostile["html"]


def test_lines_stay_lines(rendered):
    """A single line break in a TextBlock used to collapse into a space."""
    card = rendered["digest-small"]
    assert "Sync errors still open: 14\n" in card["text"]
    assert "4 new, 2 fixed since the last digest\n" in card["text"]


def test_the_digest_card_has_one_menu_per_group_and_it_opens_on_the_three_choices(rendered, cards_page, core):
    assert rendered["digest-small"]["menus"] == 3        # three groups shown, one "..." each
    assert rendered["digest-all-clear"]["menus"] == 0
    host = json.loads(TEAMS_HOST_CONFIG.read_text(encoding="utf-8"))
    small = next(card for name, card in teams_layouts(core, {}) if name == "digest-small")
    cards_page.evaluate(RENDER, [[["digest-small", small]], host, PHONE])   # left on the page
    cards_page.locator("#host button", has_text="...").first.click()
    menu = cards_page.get_by_role("menuitem")
    assert menu.all_inner_texts() == ["Show the fix", "Mark resolved", "Snooze a day"]


# -- the confusion matrix -------------------------------------------------------------------------

LABELS = ["ar_ap_currency_mismatch", "completed_with_processing_errors", "customer_prepayment_not_syncing",
          "duplicate_product_names", "out_of_scope", "reference_number_not_unique", "unexpected_user_error"]


def measure_svg(page, svg: str) -> dict[str, Any]:
    page.set_content(f'<!doctype html><html><body style="margin:0">{svg}</body></html>')
    return page.evaluate("""() => {
      const svg = document.querySelector("svg"), box = svg.getBoundingClientRect();
      const parts = [...svg.querySelectorAll("text, rect")].map((n) => ({text: n.textContent,
        cls: n.getAttribute("class") || n.tagName, r: n.getBoundingClientRect()}));
      const clipped = parts.filter((p) => p.r.left < box.left - 0.5 || p.r.top < box.top - 0.5
        || p.r.right > box.right + 0.5 || p.r.bottom > box.bottom + 0.5).map((p) => p.text);
      const column = parts.filter((p) => p.cls === "column"), title = parts.filter((p) => p.cls === "title");
      const right = Math.max(...parts.map((p) => p.r.right)), bottom = Math.max(...parts.map((p) => p.r.bottom));
      const left = Math.min(...parts.map((p) => p.r.left));
      const labelsTop = Math.min(...column.map((p) => p.r.top));
      const titleBottom = Math.max(...title.map((p) => p.r.bottom));
      return {clipped, left: left - box.left, right: box.right - right, bottom: box.bottom - bottom,
              gapAboveLabels: labelsTop - titleBottom, width: box.width, height: box.height};
    }""")


def test_the_confusion_matrix_shows_every_label_whole_with_no_large_empty_area(browser):
    n = len(LABELS)
    matrix = [[(5 if i == j else (1 if (i + j) % 5 == 0 else 0)) for j in range(n)] for i in range(n)]
    report = Report(total=sum(map(sum, matrix)), accuracy=0.9, in_scope_top3=1.0, oos_precision=1.0, oos_recall=1.0,
                    labels=LABELS, matrix=matrix)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    seen = measure_svg(page, confusion_svg(report))
    page.close()
    assert seen["clipped"] == []                                  # no label (or cell) outside the picture
    assert seen["left"] <= 16 and seen["right"] <= 48 and seen["bottom"] <= 16, seen
    assert seen["gapAboveLabels"] <= 60, seen                     # the old fixed margin left ~150 px empty

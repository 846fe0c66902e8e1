"""The knowledge base: the intents the issue asks for, their fields, the loader's checks,
and every exact error text from the help article matching its intent's signature."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from jinja2 import Environment, meta

from bot.core.nlu.catalog import KB_VALUES, META_INTENTS, SLOT_NAMES, CatalogError, load_catalog
from bot.core.nlu.scan import find_signatures
from bot.core.nlu.text import normalise
from tests.support import PROJECT_ROOT

PROBLEM_IDS = (
    "duplicate_cogs", "inactive_product_in_qbo", "sale_cogs_pending", "product_version_error",
    "pending_products_tax_rule", "completed_with_processing_errors", "sales_tax_mismatch",
    "duplicate_product_names", "qbo_disconnected", "credit_note_zeroed", "reference_number_not_unique",
    "customer_prepayment_not_syncing", "one_foreign_currency", "revenue_account_mapping",
    "product_not_exported", "order_product_not_exported", "period_closed", "duplicate_name",
    "transaction_deposited", "inactive_reference", "matched_bank_transaction", "payment_account_deprecated",
    "credit_account_deprecated", "bill_not_exported", "unexpected_user_error", "negative_amount",
    "unauthorized_401", "ar_ap_currency_mismatch", "credit_note_no_lines",
)
META_IDS = ("greeting", "thanks", "help", "escalate")
ALL_IDS = PROBLEM_IDS + META_IDS

_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.DOTALL)


def text_fields(intent) -> list[tuple[str, str]]:
    """(field name, text) for every knowledge-base text the renderer shows."""
    fields = [("title", intent.title), ("summary", intent.summary), ("section", intent.section),
              ("means", intent.means), ("escalate", intent.escalate), ("answer", intent.answer)]
    fields += [(f"causes[{n}]", c) for n, c in enumerate(intent.causes)]
    fields += [(f"steps[{n}]", s.text) for n, s in enumerate(intent.steps)]
    fields += [(f"steps[{n}] risky", s.risky) for n, s in enumerate(intent.steps)]
    for v in intent.variants:
        fields += [(f"variant {v.key} label", v.label), (f"variant {v.key} when", v.when),
                   (f"variant {v.key} escalate", v.escalate)]
        fields += [(f"variant {v.key} causes[{n}]", c) for n, c in enumerate(v.causes)]
        fields += [(f"variant {v.key} steps[{n}]", s.text) for n, s in enumerate(v.steps)]
        fields += [(f"variant {v.key} steps[{n}] risky", s.risky) for n, s in enumerate(v.steps)]
    return [(name, text) for name, text in fields if text]


# -- the catalog the issue asks for ------------------------------------------------------

@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_every_issue_intent_exists(catalog, intent_id):
    assert intent_id in catalog
    expected_kind = "meta" if intent_id in META_IDS else "problem"
    assert catalog[intent_id].kind == expected_kind


def test_meta_intents_match_the_engine_constant():
    assert set(META_INTENTS) == set(META_IDS)


@pytest.mark.parametrize("intent_id", PROBLEM_IDS)
def test_problem_intent_has_every_field(catalog, intent_id):
    intent = catalog[intent_id]
    assert intent.title and len(intent.title) <= 80
    assert intent.summary and len(intent.summary) <= 120
    assert intent.section and len(intent.section.split()) <= 8
    assert intent.means
    if intent.variants:
        assert len(intent.variants) >= 2
        assert not intent.causes and not intent.steps, "variants replace top-level causes/steps"
        for v in intent.variants:
            assert v.key and v.label and v.when and v.causes and v.steps
            assert v.escalate or intent.escalate, "every variant has a way to a person"
    else:
        assert intent.escalate
        assert intent.causes and intent.steps


@pytest.mark.parametrize("intent_id", META_IDS)
def test_meta_intent_has_an_answer(catalog, intent_id):
    intent = catalog[intent_id]
    assert intent.answer and intent.title and intent.summary
    assert not intent.steps and not intent.signatures


def test_two_cause_intents_have_variants(catalog):
    assert {v.key for v in catalog["reference_number_not_unique"].variants} == {"journal_entries", "invoice_numbers"}
    assert {v.key for v in catalog["one_foreign_currency"].variants} == {"account_currencies", "customer_currency"}


def test_merged_intents_say_when_each_variant_applies_and_escalate_per_variant(catalog):
    for intent in (i for i in catalog.problems if i.variants):
        whens = [v.when for v in intent.variants]
        assert len(set(whens)) == len(whens) and all(w.startswith("If ") for w in whens), intent.id
        assert all(v.escalate for v in intent.variants), intent.id


@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_related_ids_exist_and_are_not_self(catalog, intent_id):
    intent = catalog[intent_id]
    for related in intent.related:
        assert related in catalog, f"{intent_id} relates to unknown {related}"
        assert related != intent_id
        assert catalog[related].is_problem


@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_static_text_has_no_markup_characters(catalog, intent_id):
    for name, text in text_fields(catalog[intent_id]):
        static = _JINJA_EXPR.sub("", text)
        for char in "<>&":
            assert char not in static, f"{intent_id} {name} contains {char!r}: {text!r}"


@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_text_templates_parse_and_use_known_slots(catalog, intent_id):
    env = Environment()
    env.filters.update(em=lambda value, fallback="": value, b=lambda value: value)  # the renderer's filters
    known = set(SLOT_NAMES) | set(KB_VALUES)
    for name, text in text_fields(catalog[intent_id]):
        variables = meta.find_undeclared_variables(env.parse(text))
        assert variables <= known, f"{intent_id} {name} uses unknown slots {variables - known}"


@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_signature_slots_are_known(catalog, intent_id):
    for sig in catalog[intent_id].signatures:
        assert set(sig.slots) <= set(SLOT_NAMES)
        assert sig.pattern.flags & re.IGNORECASE


# -- the loader rejects malformed files --------------------------------------------------

VALID = textwrap.dedent("""\
    id: {id}
    kind: problem
    title: Something broke
    summary: Fix the thing.
    section: Broken things
    means: The thing broke.
    causes:
      - It was used wrongly.
    steps:
      - Fix it.
    escalate: Ask a person.
    signatures:
      - pattern: 'The thing broke'
    related: []
    """)


def write_intent(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_valid_minimal_file_loads(tmp_path):
    write_intent(tmp_path, "thing_broke", VALID.format(id="thing_broke"))
    catalog = load_catalog(tmp_path)
    assert catalog.ids == ["thing_broke"]
    assert catalog["thing_broke"].signatures[0].pattern.search("the THING broke")


MALFORMED = {
    "id_differs_from_file_name": (VALID.format(id="other_name"), "does not match the file name"),
    "unbounded_dot_star": (VALID.format(id="{name}").replace("'The thing broke'", "'The .* broke'"), "unbounded"),
    "unbounded_plus": (VALID.format(id="{name}").replace("'The thing broke'", "'The \\w+ broke'"), "unbounded"),
    "unbounded_open_brace": (VALID.format(id="{name}").replace("'The thing broke'", "'The x{2,} broke'"), "unbounded"),
    "unknown_slot_name": (VALID.format(id="{name}").replace("'The thing broke'", "'The (?P<gizmo>[a-z]{1,9}) broke'"),
                          "unknown slot"),
    "invalid_regex": (VALID.format(id="{name}").replace("'The thing broke'", "'The (thing broke'"), "not a valid regex"),
    "bad_related_id": (VALID.format(id="{name}").replace("related: []", "related: [no_such_intent]"), "no_such_intent"),
    "missing_steps": (VALID.format(id="{name}").replace("steps:\n  - Fix it.\n", ""), "steps"),
    "missing_causes": (VALID.format(id="{name}").replace("causes:\n  - It was used wrongly.\n", ""), "causes"),
    "missing_escalate": (VALID.format(id="{name}").replace("escalate: Ask a person.\n", ""), "escalate"),
    "missing_title": (VALID.format(id="{name}").replace("title: Something broke\n", ""), "title"),
    "unknown_kind": (VALID.format(id="{name}").replace("kind: problem", "kind: mystery"), "kind"),
    "signature_without_pattern": (VALID.format(id="{name}").replace("- pattern: 'The thing broke'", "- regex: 'x'"),
                                  "pattern"),
    "meta_without_answer": ("id: {name}\nkind: meta\ntitle: Hi\nsummary: Say hi.\nrelated: []\n", "answer"),
    "not_a_mapping": ("- just\n- a list\n", "mapping"),
    "not_yaml": ("id: [unclosed\n", "YAML"),
    "variant_with_keyword_match": (VALID.format(id="{name}").replace(
        "causes:\n  - It was used wrongly.\nsteps:\n  - Fix it.\n",
        "variants:\n  - {key: a, label: A, when: If A, match: 'INV', causes: [x], steps: [y]}\n"
        "  - {key: b, label: B, when: If B, causes: [x], steps: [y]}\n"), "match"),
    "variant_without_when": (VALID.format(id="{name}").replace(
        "causes:\n  - It was used wrongly.\nsteps:\n  - Fix it.\n",
        "variants:\n  - {key: a, label: A, causes: [x], steps: [y]}\n"
        "  - {key: b, label: B, when: If B, causes: [x], steps: [y]}\n"), "when"),
    "single_variant": (VALID.format(id="{name}").replace(
        "causes:\n  - It was used wrongly.\nsteps:\n  - Fix it.\n",
        "variants:\n  - {key: a, label: A, when: If A, causes: [x], steps: [y]}\n"), "two or more"),
    "signature_names_unknown_variant": (VALID.format(id="{name}").replace(
        "- pattern: 'The thing broke'", "- {pattern: 'The thing broke', variant: nope}"), "nope"),
    "step_without_text": (VALID.format(id="{name}").replace("  - Fix it.\n", "  - {risky: Careful.}\n"), "text"),
    "step_with_unknown_key": (VALID.format(id="{name}").replace(
        "  - Fix it.\n", "  - {text: Fix it., warning: Careful.}\n"), "warning"),
    "step_with_empty_warning": (VALID.format(id="{name}").replace(
        "  - Fix it.\n", "  - {text: Fix it., risky: ''}\n"), "risky"),
    "source_not_https": (VALID.format(id="{name}").replace(
        "  - Fix it.\n", "  - {text: Fix it., source: 'http://quickbooks.intuit.com/x'}\n"), "https"),
    "source_off_the_two_products": (VALID.format(id="{name}").replace(
        "  - Fix it.\n", "  - {text: Fix it., source: 'https://intuit.com.example.net/x'}\n"), "source"),
    "intent_source_elsewhere": (VALID.format(id="{name}") + "sources: ['https://blog.example.com/qbo']\n", "source"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_loader_rejects_malformed_file_naming_it(tmp_path, case):
    text, expected = MALFORMED[case]
    name = f"bad_{case}"
    write_intent(tmp_path, "aaa_fine", VALID.format(id="aaa_fine"))
    write_intent(tmp_path, name, textwrap.dedent(text).replace("{name}", name))
    with pytest.raises(CatalogError) as caught:
        load_catalog(tmp_path)
    message = str(caught.value)
    assert f"{name}.yaml" in message
    assert expected.lower() in message.lower()


def test_steps_load_with_their_warning_and_sources(tmp_path):
    write_intent(tmp_path, "risky_thing", VALID.format(id="risky_thing").replace("  - Fix it.\n", (
        "  - Look first.\n"
        "  - text: Press **Rewrite all**.\n"
        "    risky: It rewrites every record.\n"
        "    source: https://help.core.cin7.com/hc/en-us/articles/1\n")))
    steps = load_catalog(tmp_path)["risky_thing"].steps
    assert [(s.text, s.risky, s.sources) for s in steps] == [
        ("Look first.", "", ()),
        ("Press **Rewrite all**.", "It rewrites every record.", ("https://help.core.cin7.com/hc/en-us/articles/1",)),
    ]


def test_loader_rejects_an_empty_folder(tmp_path):
    with pytest.raises(CatalogError, match="no intent files"):
        load_catalog(tmp_path)


def test_loader_rejects_quantified_escaped_backslash(tmp_path):
    write_intent(tmp_path, "slashes", VALID.format(id="slashes").replace("'The thing broke'", r"'The \\+ broke'"))
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)


def test_loader_rejects_nested_repetition(tmp_path):
    write_intent(tmp_path, "nested", VALID.format(id="nested").replace("'The thing broke'", "'The (?:a{1,50}){1,50} broke'"))
    with pytest.raises(CatalogError):
        load_catalog(tmp_path)


@pytest.mark.parametrize("pattern, problem", [
    ("(?>a+) broke", "unbounded"),                      # inside an atomic group
    ("(x)?(?(1)a*|b) broke", "unbounded"),              # inside a conditional group
    ("(?=(?:ab{1,9}){1,9}) broke", "nested"),            # inside a lookahead
    ("(?:x|(?:ab{1,9}){1,9}) broke", "nested"),         # inside one alternative
])
def test_loader_finds_bad_repetition_wherever_it_is(tmp_path, pattern, problem):
    write_intent(tmp_path, "hidden", VALID.format(id="hidden").replace("'The thing broke'", repr(pattern)))
    with pytest.raises(CatalogError, match=problem):
        load_catalog(tmp_path)


# -- the help article's exact error texts ------------------------------------------------
# Copied from the DEAR help article "common errors with QBO integration" (the corpus is not
# available in CI); placeholders such as XXXX are replaced by realistic values.

ARTICLE_ERRORS = [
    ('Failed to export a journal entry for JNL-0087 from DEAR to QuickBooks: Reference number is not unique, '
     'please specify a unique value.', "reference_number_not_unique", {"transaction": "JNL-0087"}),
    ("Reference number is not unique, please specify a unique value.", "reference_number_not_unique", {}),
    ("Transactions can have only one foreign currency at a time", "one_foreign_currency", {}),
    ("Transactions can have only one foreign currency at a time.", "one_foreign_currency", {}),
    ("Error: Product GRN-MUG-12 has not been exported to QuickBooks. Please check the export status of the product "
     "in sync history (might have been manually skipped or failed) and fix any outstanding issues to allow export "
     "of the sale referencing this product.", "product_not_exported", {"product": "GRN-MUG-12"}),
    ("Error: The account period has closed and the account books cannot be updated through through the QBO "
     "Services API. Please use the QBO website to make these changes.", "period_closed", {}),
    ("Error: Another customer, supplier, or employee is already using this name. Please use a different name",
     "duplicate_name", {}),
    ("Error: This transaction has been deposited. If you want to change or delete it, you must edit the deposit "
     "it appears on and remove it first", "transaction_deposited", {}),
    ("Error: Something you're trying to use has been made inactive. Check the fields with accounts, customers, "
     "items, vendors or employees.", "inactive_reference", {}),
    ("Error: Something you\u2019re trying to use has been made inactive. Check the fields with accounts, customers, "
     "items, vendors or employees.", "inactive_reference", {}),
    ("Error: This transaction is matched to a downloaded transaction. If you want to change the account, you need "
     "to unmatch the transaction first.", "matched_bank_transaction", {}),
    ("Error: Payment account code specified for the payment is not mapped to any QuickBooks account and is marked "
     "as Deprecated in the chart of accounts. If you have recently changed account numbers in QuickBooks chart of "
     "accounts or a different QuickBooks company, please contact Support to help with remapping account numbers.",
     "payment_account_deprecated", {}),
    ("Error: Credit account (4000-Sales) is not mapped to any QuickBooks account and marked as Deprecated in the "
     "chart of accounts. If you have recently changed account numbers in QuickBooks chart of accounts or a "
     "different QuickBooks company, please contact Support to help with remapping account numbers.",
     "credit_account_deprecated", {"account_code": "4000-Sales"}),
    ('Error: Bill "BILL-7731" has not been exported to QuickBooks. Please check bill export status in sync history '
     "(might have been manually skipped or failed) and fix the issue before exporting payments related to this bill.",
     "bill_not_exported", {"bill": "BILL-7731"}),
    ("Error: Product GRN-MUG-12 in SO-00412 has not been exported to QuickBooks. Please check the export status in "
     "sync history (might have been manually skipped or failed) and fix the issue before exporting payments related "
     "to this bill.", "order_product_not_exported", {"product": "GRN-MUG-12", "order": "SO-00412"}),
    ('Product "GRN-MUG-12" in "SO-00412" has not been exported to QuickBooks. Please check the export status in '
     "sync history", "order_product_not_exported", {"product": "GRN-MUG-12", "order": "SO-00412"}),
    ("Unexpected user error. ( -12476 )", "unexpected_user_error", {"error_code": "-12476"}),
    ("0 Max:999,999,999 supported. Supplied value:-45.00", "negative_amount", {"amount": "-45.00"}),
    ("Unauthorized-401", "unauthorized_401", {}),
    ("Error: The transaction needs to be in the same currency as the A/R and A/P accounts you use.",
     "ar_ap_currency_mismatch", {}),
    ("Error: No lines found in the sale credit note. Please contact support to fix this.", "credit_note_no_lines", {}),
    ("Item version already exists in QBO", "product_version_error", {}),
]


@pytest.mark.parametrize("text,intent_id,slots", ARTICLE_ERRORS, ids=[f"{i}-{n}" for n, (_, i, _) in enumerate(ARTICLE_ERRORS)])
def test_article_error_text_matches_its_signature(catalog, text, intent_id, slots):
    hits = find_signatures(catalog, normalise(text))
    assert [h.intent for h in hits] == [intent_id]
    assert hits[0].slots == slots


@pytest.mark.parametrize("text,intent_id,slots", ARTICLE_ERRORS, ids=[f"{i}-{n}" for n, (_, i, _) in enumerate(ARTICLE_ERRORS)])
def test_article_error_text_is_diagnosed_from_the_signature(core, text, intent_id, slots):
    answer = core.engine.diagnose(text)
    assert answer.intent == intent_id
    assert answer.primary.source == "signature"
    for slot, value in slots.items():
        assert answer.entities[slot] == value


def test_signatures_survive_slack_formatting(catalog):
    # People paste with curly quotes, odd spacing and shouting.
    pasted = "Bill \u201cBILL-7731\u201d   has not been\u00a0exported to QuickBooks"
    hits = find_signatures(catalog, normalise(pasted))
    assert [(h.intent, h.slots) for h in hits] == [("bill_not_exported", {"bill": "BILL-7731"})]
    pasted = "THE TRANSACTION NEEDS TO BE IN THE SAME CURRENCY AS THE A/R AND A/P ACCOUNTS YOU USE"
    assert [h.intent for h in find_signatures(catalog, normalise(pasted))] == ["ar_ap_currency_mismatch"]


def test_every_signature_intent_in_the_real_catalog_is_covered_here(catalog):
    with_signatures = {i.id for i in catalog.problems if i.signatures}
    assert with_signatures <= {intent for _, intent, _ in ARTICLE_ERRORS}


def test_the_real_catalog_loads_from_disk():
    catalog = load_catalog(PROJECT_ROOT / "intents")
    assert set(ALL_IDS) <= set(catalog.ids)


# -- what the texts may say --------------------------------------------------------------

_ADDRESS = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}|https?://|www\.|dearsystems", re.IGNORECASE)


@pytest.mark.parametrize("intent_id", ALL_IDS)
def test_no_intent_text_hard_codes_a_support_address(catalog, intent_id):
    # The one way to a person is the SUPPORT_CONTACT setting, shown as {{ support }}.
    for name, text in text_fields(catalog[intent_id]):
        assert not _ADDRESS.search(_JINJA_EXPR.sub("", text)), f"{intent_id} {name}: {text!r}"


def test_cin7_core_support_is_named_with_the_way_to_reach_it(catalog):
    for intent in catalog.intents.values():
        for name, text in text_fields(intent):
            if "Cin7 Core support" in text and name not in ("title", "summary"):
                assert "{{ support }}" in text, f"{intent.id} {name} names Cin7 Core support without {{{{ support }}}}"


# Actions that are hard to undo. A step that does one of these (rather than forbidding it)
# must carry `risky`, the warning shown before it.
_HARD_TO_UNDO = re.compile(
    r"\*\*replace products\*\*|\bdelete\b|\bdisconnect\b|\bvoid\b|\*\*undo\*\*|historical transactions"
    r"|switch \*\*close the books\*\* off|take the payment off|untick", re.IGNORECASE)


def risky_steps(intent):
    yield from ((None, s) for s in intent.steps)
    yield from ((v.key, s) for v in intent.variants for s in v.steps)


@pytest.mark.parametrize("intent_id", PROBLEM_IDS)
def test_every_hard_to_undo_step_is_marked_risky(catalog, intent_id):
    for variant, step in risky_steps(catalog[intent_id]):
        if _HARD_TO_UNDO.search(step.text) and not step.text.startswith("Do not"):
            assert step.risky, f"{intent_id} {variant or ''} step {step.text!r} needs a warning ('risky')"


def test_the_risky_steps_the_issue_names_are_marked(catalog):
    def marked(intent_id, words):
        return any(words in s.text and s.risky for _, s in risky_steps(catalog[intent_id]))

    assert marked("duplicate_cogs", "**Replace Products**")
    assert marked("duplicate_product_names", "disconnect the product catalogue")
    assert marked("inactive_product_in_qbo", "**Delete Deprecated Products**")
    assert marked("period_closed", "Switch **Close the books** off")
    assert marked("matched_bank_transaction", "**Undo**")
    assert marked("transaction_deposited", "Take the payment off")
    assert marked("unauthorized_401", "**Disconnect**")
    assert marked("reference_number_not_unique", "void")
    # reconciliation warnings come first: before the step, not after it
    for intent_id in ("matched_bank_transaction", "transaction_deposited"):
        assert any("reconciled" in s.risky for _, s in risky_steps(catalog[intent_id])), intent_id


@pytest.mark.parametrize("intent_id", PROBLEM_IDS)
def test_sources_are_public_intuit_or_cin7_pages(catalog, intent_id):
    intent = catalog[intent_id]
    urls = [*intent.sources, *(u for _, s in risky_steps(intent) for u in s.sources)]
    for url in urls:
        assert re.match(r"https://([\w-]+\.)*(intuit|cin7)\.com/", url), url


def title_overlap(a: str, b: str) -> float:
    """Share of the shorter title's words the other title has too."""
    def words(title):
        return set(re.findall(r"[a-z]+", title.lower())) - {"a", "an", "the", "in", "to", "of", "is", "has", "its"}

    return len(words(a) & words(b)) / min(len(words(a)), len(words(b)))


def test_titles_tell_the_problems_apart(catalog):
    # "Did you mean" lists titles: two that share almost every word look like one problem.
    problems = catalog.problems
    for n, a in enumerate(problems):
        for b in problems[n + 1:]:
            assert a.title != b.title
            assert title_overlap(a.title, b.title) < 0.85, (a.title, b.title)


def test_the_two_not_exported_titles_name_what_is_held_back(catalog):
    sale, order = catalog["product_not_exported"].title, catalog["order_product_not_exported"].title
    assert title_overlap(sale, order) < 0.5, (sale, order)
    assert "sale" in sale.lower() and "order" in order.lower()


@pytest.mark.parametrize("text,slots", [
    # verbatim from the issue: the order slot must not swallow "Red"
    ("Product Socks in Red in SO-00412 has not been exported to QuickBooks",
     {"product": "Socks in Red", "order": "SO-00412"}),
    ('Product "Socks in Red" in "SO-00412" has not been exported to QuickBooks',
     {"product": "Socks in Red", "order": "SO-00412"}),
    ('Product "12" Ruler" in "SO-00412" has not been exported to QuickBooks',
     {"product": '12" Ruler', "order": "SO-00412"}),
    ("Product Tea in a Tin in SO-7 has not been exported to QuickBooks. Please check the export status in sync history",
     {"product": "Tea in a Tin", "order": "SO-7"}),
    ('Product "Mug" in "Sale Order 412" has not been exported to QuickBooks',  # a quoted order may have spaces
     {"product": "Mug", "order": "Sale Order 412"}),
])
def test_the_two_slot_signature_keeps_names_whole(catalog, text, slots):
    hits = find_signatures(catalog, normalise(text))
    assert [(h.intent, h.slots) for h in hits] == [("order_product_not_exported", slots)]

"""Other products: a message that names another product as its error's source is refused with
the reason, never answered with DEAR steps, and the product is the `source_system` entity.
Generic fragments ("401 Unauthorized") do not fire a signature outside a sync context.
"""

from __future__ import annotations

import pytest

from bot.core.nlu.answers import AnswerKind, FindingKind
from bot.core.nlu.catalog import OUT_OF_SCOPE
from bot.core.nlu.scan import find_signatures

# One near miss per product family the issue names (our own phrasings), with the QuickBooks
# topic when the message carries a QuickBooks error we know.
FAMILIES = [
    ("xero", "Xero rejects the credit note: the date is before the lock date", ""),
    ("quickbooks_desktop", "QuickBooks Desktop: The name of the list element is already in use", ""),
    ("cin7_omni", "Cin7 Omni accounting dashboard: Duplicate Name Exists Error on customer upload", "duplicate_name"),
    ("bill_com", "Bill.com sync error - This transaction has been deposited, edit the deposit first", "transaction_deposited"),
    ("workato", "Workato job failed: QuickBooks said Duplicate Document Number Error (6140)", "reference_number_not_unique"),
    ("chargebee", "Chargebee's QuickBooks sync stopped: the customer is inactive in QBO", ""),
    ("shopify_connector", "the QuickBooks connector for Shopify keeps creating the same customer twice", ""),
    ("sos_inventory", "SOS Inventory: account period has closed and the account books cannot be updated", "period_closed"),
    ("a2x", "A2X can't post the settlement, QuickBooks says Invalid Reference Id", "inactive_reference"),
    ("dext", "Dext publishing to QuickBooks failed: supplier made inactive", ""),
    ("gusto", "Gusto payroll journal won't post to QuickBooks Online", ""),
    ("github_actions", "GitHub Actions release job: 401 Unauthorized from the package registry", ""),
]


@pytest.mark.parametrize("system,text,topic", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_another_product_is_refused_with_the_reason(core, system, text, topic):
    answer = core.engine.diagnose(text)
    assert answer.kind == AnswerKind.OUT_OF_SCOPE
    assert answer.intent == OUT_OF_SCOPE
    assert answer.entities["source_system"] == system
    (finding,) = answer.findings
    assert finding.kind == FindingKind.OTHER_PRODUCT and finding.system == system
    if topic:
        # The QuickBooks side of a message we know comes first among the topics offered.
        assert finding.intent == topic
        assert answer.alternatives[0].intent == topic
    reply = core.renderer.text(answer)
    assert f"about {finding.system_name}, not the DEAR / Cin7 Core sync" in reply
    assert "How to fix it" not in reply  # never DEAR steps as if they applied
    assert f"about {finding.system_name}" in str(core.renderer.slack(answer))


def test_dear_sending_to_another_accounting_system_is_out_of_scope(core):
    answer = core.engine.diagnose("Cin7 Core to Xero: tracking category option is archived")
    assert answer.intent == OUT_OF_SCOPE
    assert answer.entities["source_system"] == "xero"


def test_an_app_named_beside_dear_is_only_context(core):
    # The vendor was created by Bill.com, but the failing sync is DEAR's.
    answer = core.engine.diagnose("DEAR sync: Another customer, supplier, or employee is already using this name "
                                  "(the vendor was created by Bill.com)")
    assert answer.intent == "duplicate_name"
    assert answer.entities["source_system"] == "dear"


def test_qbo_named_beside_an_old_accounting_system_is_in_scope(core):
    answer = core.engine.diagnose("since we moved from Xero to QBO, DEAR says Duplicate Name Exists Error")
    assert answer.intent == "duplicate_name"


def test_thanks_that_names_a_product_is_still_thanks(core):
    assert core.engine.diagnose("thanks, that sorted our xero question too").intent == "thanks"


@pytest.mark.parametrize("text,system", [
    ("our DEAR sync fails with Unauthorized-401", "dear"),
    ("QBO says the period is closed", "quickbooks_online"),
    ("the books are closed", ""),
])
def test_source_system_of_in_scope_messages(core, text, system):
    assert core.engine.diagnose(text).entities.get("source_system", "") == system


@pytest.mark.parametrize("text,fires", [
    ("401 Unauthorized from the container registry", False),
    ("request failed: unauthorized", False),
    ("pipeline: 401 - Unauthorized", False),
    ("Unauthorized-401", True),
    ("the QBO sync returns 401 Unauthorized", True),
    ("401 Unauthorized when DEAR syncs", True),
])
def test_generic_401_fragments_do_not_fire_outside_a_sync_context(catalog, text, fires):
    assert bool([h for h in find_signatures(catalog, text) if h.intent == "unauthorized_401"]) == fires

"""QuickBooks Online error codes: fault payloads (JSON and XML) for every code the help article
covers, bare codes with a word or two, and codes it does not cover, which are named and refused.

The mapping below is written out here, from the issue and Intuit's documentation, rather than
read from intents/reference/qbo_error_codes.yaml, so a wrong edit to that file fails a test.
"""

from __future__ import annotations

import json

import pytest

from bot.core.nlu.answers import AnswerKind, FindingKind
from bot.core.nlu.catalog import META_INTENTS, OUT_OF_SCOPE

# code, QuickBooks' message, a detail (our own made-up text, no known error sentence in it), intent
MAPPED = [
    ("6240", "Duplicate Name Exists Error", "The name supplied already exists. Customer Fernbrook Ltd", "duplicate_name"),
    ("6140", "Duplicate Document Number Error", "You must specify a different number. DocNumber=INV-1190", "reference_number_not_unique"),
    ("6210", "Account Period Closed, Cannot Update Through Services API", "Books closed on 2025-03-31", "period_closed"),
    ("6540", "Deposited Transaction cannot be changed", "Payment 7781 sits on deposit 312", "transaction_deposited"),
    ("610", "Object Not Found", "Check the fields with accounts, customers and items", "inactive_reference"),
    ("2500", "Invalid Reference Id", "ItemRef 88 is not usable", "inactive_reference"),
    ("120", "Authorization Failure", "The connecting user is no longer an admin", "unauthorized_401"),
    ("100", "General Authentication Error", "Token rejected", "unauthorized_401"),
    ("3200", "AuthenticationFailed", "statusCode=401", "unauthorized_401"),
    ("3100", "ApplicationAuthorizationFailed", "statusCode=403", "unauthorized_401"),
    ("-12476", "Unexpected user error", "No further information", "unexpected_user_error"),
]
UNCOVERED = ["5010", "6190", "2020", "6000", "2170", "500"]


def json_fault(code: str, message: str, detail: str) -> str:
    return json.dumps({"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": ""}],
                                 "type": "ValidationFault"}, "time": "2025-05-01T10:00:00.000-07:00"})


def xml_fault(code: str, message: str, detail: str) -> str:
    return (f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="ValidationFault">'
            f'<Error code="{code}"><Message>{message}</Message><Detail>{detail}</Detail></Error></Fault></IntuitResponse>')


def test_every_mapped_code_in_the_code_book_is_tested_here(core):
    mapped = {e.code for e in core.engine.lookups.codes.entries if e.code and e.intent}
    assert mapped == {code for code, *_ in MAPPED}


def test_the_uncovered_codes_named_in_the_issue_are_in_the_code_book(core):
    book = core.engine.lookups.codes.by_code
    for code in UNCOVERED:
        assert code in book and not book[code].intent and book[code].meaning


@pytest.mark.parametrize("payload", [json_fault, xml_fault], ids=["json", "xml"])
@pytest.mark.parametrize("code,message,detail,intent", MAPPED, ids=[m[0] for m in MAPPED])
def test_fault_payload_of_a_mapped_code(core, payload, code, message, detail, intent):
    answer = core.engine.diagnose(payload(code, message, detail))
    assert answer.kind == AnswerKind.DIAGNOSIS
    assert answer.intent == intent
    assert answer.primary.source in ("code", "signature")
    assert answer.confidence >= 0.95


def test_a_known_detail_inside_a_generic_6000_is_that_intent(core):
    detail = "Transactions can have only one foreign currency at a time."
    for payload in (json_fault, xml_fault):
        answer = core.engine.diagnose(payload("6000", "A business validation error has occurred", detail))
        assert answer.intent == "one_foreign_currency"
        assert answer.primary.source == "signature"


@pytest.mark.parametrize("text,intent", [
    ("6540 again", "deposited"),  # the issue's own examples
    ("dup doc num 6140", "reference"),
    ("6210 when we push last quarter's bills", "period"),
    ("qbo 6240 on a new vendor", "duplicate_name"),
    ("ERROR CODE:2500 on sales invoice INV-4410", "inactive"),
    ("Code (6140): DocNumber=1043 is assigned to TxnType=Invoice", "reference"),
    ("errorCode=003200; statusCode=401 from the dear sync", "unauthorized"),
    ("-12476 keeps coming back", "unexpected"),
])
def test_bare_and_logged_codes(core, text, intent):
    answer = core.engine.diagnose(text)
    assert answer.kind == AnswerKind.DIAGNOSIS
    assert intent in answer.intent
    assert answer.primary.source == "code"
    assert answer.entities["error_code"] in text.replace("003200", "3200")


@pytest.mark.parametrize("text", [
    "SO-6240 failed to import from the web store",      # a reference, not a code
    "Account code '6000' has been archived",             # an account, not a code
    "we have used DEAR since 2020 and love it",           # a year
    "paid $6,540.00 to the supplier today",               # an amount
])
def test_numbers_that_are_not_codes(core, text):
    assert core.engine.lookups.codes.find(text) is None


@pytest.mark.parametrize("text,code", [
    ("5010 Stale Object Error on invoice INV-220", "5010"),
    ("stale object error again when dear updates a sale", "5010"),
    ("error 6190, is our subscription over?", "6190"),
    ("ERROR CODE:2020 Required param missing, need to supply the required value for the API", "2020"),
    (json_fault("2170", "Invalid Enumeration", "Invalid Enumeration : Unknown"), "2170"),
    (xml_fault("6000", "A business validation error has occurred while processing your request",
               "You must select a product/service or an account for each split line"), "6000"),
    (json_fault("500", "Unsupported Operation", "Operation X is not supported."), "500"),
    (json_fault("610", "Object Not Found", "Object Not Found : Another user has deleted this transaction."), "610"),
])
def test_an_uncovered_code_is_named_and_refused(core, text, code):
    answer = core.engine.diagnose(text)
    assert answer.kind == AnswerKind.OUT_OF_SCOPE
    assert answer.intent == OUT_OF_SCOPE
    assert answer.intent not in META_INTENTS
    (finding,) = answer.findings
    assert finding.kind == FindingKind.UNCOVERED_CODE
    assert finding.code == code
    assert finding.meaning
    reply = core.renderer.text(answer)
    assert f"QuickBooks Online error {code}" in reply
    assert finding.meaning in reply
    assert "no fix" in reply and "person" in reply
    assert "How to fix it" not in reply


def test_an_uncovered_code_refusal_in_slack_and_teams(core):
    answer = core.engine.diagnose("ERROR CODE:5010 Stale Object Error")
    slack = json.dumps(core.renderer.slack(answer))
    assert "QuickBooks Online error 5010" in slack and "syncmedic_escalate" in slack
    teams = json.dumps(core.renderer.teams(answer))
    assert "QuickBooks Online error 5010" in teams and '"verb": "escalate"' in teams


def test_an_uncovered_message_without_its_code(core):
    answer = core.engine.diagnose("Invalid account type: You need to select a different type of account for this transaction.")
    assert answer.kind == AnswerKind.OUT_OF_SCOPE
    assert answer.findings[0].kind == FindingKind.UNCOVERED_CODE
    assert "Invalid account type" in core.renderer.text(answer)

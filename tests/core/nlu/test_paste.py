"""Every failing line of a paste is accounted for: one finding per distinct error, a "not
recognised" finding (with its text) for each failing line that is no known problem, and the
count in the reply includes it."""

from __future__ import annotations

import json

import pytest

from bot.core.nlu.answers import AnswerKind, FindingKind
from bot.core.nlu.catalog import OUT_OF_SCOPE
from bot.core.nlu.paste import units
from tests.support import strings

NAME = "Another customer, supplier, or employee is already using this name. Please use a different name"
CLOSED = ("The account period has closed and the account books cannot be updated through through the QBO "
          "Services API. Please use the QBO website to make these changes.")
UNKNOWN = "Stock take ST-118: bins <C-4> & <D-2> are frozen while counting"
THREE_LINES = "\n".join([
    f'2025-06-02 03:10:01 ERROR [qbo] Customer "Tidewater Goods": {NAME}',
    f"2025-06-02 03:10:02 ERROR [qbo] Invoice INV-3391: {CLOSED}",
    f"2025-06-02 03:10:04 ERROR [qbo] {UNKNOWN}",
])


def test_a_three_line_log_with_one_unknown_line(core):
    answer = core.engine.diagnose(THREE_LINES)
    assert answer.kind == AnswerKind.DIAGNOSIS
    assert len(answer.findings) == 3
    assert [f.intent for f in answer.findings[:2]] == ["duplicate_name", "period_closed"]
    unknown = answer.findings[2]
    assert unknown.kind == FindingKind.NOT_RECOGNISED and unknown.intent == OUT_OF_SCOPE
    assert UNKNOWN in unknown.evidence
    assert unknown.to_json()["text"] == unknown.evidence


@pytest.mark.parametrize("channel", ["text", "slack", "teams"])
def test_the_reply_counts_and_lists_the_unknown_line(core, channel):
    rendered = getattr(core.renderer, channel)(core.engine.diagnose(THREE_LINES))
    shown = rendered if channel == "text" else "\n".join(strings(rendered))
    assert "3 different sync errors" in shown
    assert "Not recognised" in shown
    assert "Stock take ST-118" in shown
    if channel == "slack":  # the user's line is escaped for its channel
        assert "<C-4>" not in shown and "&lt;C-4&gt; &amp; &lt;D-2&gt;" in shown
    elif channel == "teams":  # a card shows no HTML: as typed, without backslashes Teams' phones would show
        assert "<C-4> & <D-2>" in shown and "\\<" not in shown
    else:
        assert "<C-4> & <D-2>" in shown


def test_a_batch_response_with_two_faults(core):
    batch = json.dumps({"BatchItemResponse": [
        {"Fault": {"Error": [{"Message": "Deposited Transaction cannot be changed", "Detail": "Payment 12 is on a deposit",
                              "code": "6540"}], "type": "ValidationFault"}, "bId": "1"},
        {"Fault": {"Error": [{"Message": "Stale Object Error", "Detail": "Someone else saved it first", "code": "5010"}],
                   "type": "ValidationFault"}, "bId": "2"},
    ]})
    answer = core.engine.diagnose(batch)
    assert answer.intent == "transaction_deposited"
    assert [(f.kind, f.code) for f in answer.findings] == [(FindingKind.PROBLEM, "6540"), (FindingKind.UNCOVERED_CODE, "5010")]


def test_a_paste_of_unknown_lines_only_is_refused_listing_them(core):
    paste = "2025-06-02 04:00:01 ERROR [wms] label printer offline\n2025-06-02 04:00:09 ERROR [wms] carrier API timeout"
    answer = core.engine.diagnose(paste)
    assert answer.kind == AnswerKind.OUT_OF_SCOPE
    assert [f.kind for f in answer.findings] == [FindingKind.NOT_RECOGNISED] * 2
    reply = core.renderer.text(answer)
    assert "2 failing lines" in reply and "label printer offline" in reply and "carrier API timeout" in reply


def test_the_same_error_repeated_is_one_finding(core):
    paste = "\n".join(f"2025-06-02 05:00:0{n} ERROR [qbo] Invoice INV-10{n}: {CLOSED}" for n in range(5))
    answer = core.engine.diagnose(paste)
    assert [f.intent for f in answer.findings] == ["period_closed"]


def test_a_sync_history_table(core):
    rows = "\n".join([
        "Type\tReference\tDate\tStatus\tMessage",
        'Sale\tSO-1\t01/06/2025\tError\tProduct "CUP-1" in "SO-1" has not been exported to QuickBooks.',
        "Sale\tSO-2\t01/06/2025\tCompleted\t",
        "Sale Credit Note\tCR-3\t01/06/2025\tError\tNo lines found in the sale credit note.",
    ])
    answer = core.engine.diagnose(rows)
    assert [f.intent for f in answer.findings] == ["order_product_not_exported", "credit_note_no_lines"]


def test_info_lines_and_a_question_around_a_log_are_not_failing_lines(core):
    text = "\n".join(["hi all, this came up overnight:",
                      "2025-06-02 03:00:00 INFO [qbo] sync started",
                      f"2025-06-02 03:10:01 ERROR [qbo] {NAME}",
                      f"2025-06-02 03:10:02 ERROR [qbo] {CLOSED}",
                      "2025-06-02 03:11:00 WARN [qbo] retrying after HTTP 429",
                      "any idea what to do?"])
    assert len(core.engine.diagnose(text).findings) == 2


def test_units_of_a_lone_fault_payload_give_its_code():
    (unit,) = units('{"Fault":{"Error":[{"Message":"Stale Object Error","Detail":"changed","code":"5010"}]}}')
    assert unit.code == "5010" and "Stale Object Error" in unit.text


def test_units_parse_an_sdk_style_object_literal():
    found = units("QBO said: { Fault: { Error: [ { Message: 'Duplicate Name Exists Error', Detail: 'in use', code: '6240' } ] } }")
    assert [u.code for u in found] == ["6240"]


def test_many_distinct_unknown_lines_are_counted_not_dropped(core):
    paste = "\n".join(f"2025-06-02 06:00:{n:02d} ERROR [job-{n}] widget queue {chr(65 + n)} jammed" for n in range(20))
    answer = core.engine.diagnose(paste)
    assert len(answer.findings) + answer.unlisted == 20
    assert "20 failing lines" in core.renderer.text(answer)

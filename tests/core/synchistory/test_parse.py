"""Reading sync-history rows: headers, CSV dialects, malformed rows, dates, JSON rows."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

from bot.core.synchistory.dates import parse_date
from bot.core.synchistory.parse import (IngestError, map_header, parse_csv, parse_json_rows,
                                  status_is_success)

UTC = timezone.utc


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rows_of(text: str | bytes):
    return parse_csv(io.BytesIO(text if isinstance(text, bytes) else text.encode("utf-8")))


# -- headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, field", [
    ("Date", "date"), ("  CREATED DATE ", "date"), ("Last_Modified", "date"), ("Date (UTC)", "date"),
    ("Type", "type"), ("Transaction Type", "type"), ("task-type", "type"), ("Entity", "type"),
    ("Reference", "reference"), ("Ref", "reference"), ("Doc. No.", "reference"), ("Document Number", "reference"),
    ("Order", "reference"), ("Task", "reference"), ("Status", "status"), ("sync status", "status"),
    ("Result", "status"), ("Message", "message"), ("Error Message", "message"), ("details", "message"),
    ("Reason", "message"), ("Comment", "message"), ("Customer", None), ("", None),
])
def test_header_synonyms(name, field):
    assert map_header([name]) == ({field: 0} if field else {})


def test_the_most_specific_synonym_wins_then_the_leftmost_column():
    assert map_header(["Last Modified", "Date", "Type", "Reference", "Status", "Details", "Message"]) == {
        "date": 1, "type": 2, "reference": 3, "status": 4, "message": 6}
    assert map_header(["Message", "Message", "Type"])["message"] == 0


def test_headers_in_another_order_and_case():
    parsed = rows_of("MESSAGE,status,REFERENCE,Date,type\n"
                     "Duplicate Name Exists Error,Error,SO-1,2026-03-01 09:15,Sale\n")
    (row,) = parsed.rows
    assert (row.kind, row.reference, row.date, row.error, row.message) == (
        "Sale", "SO-1", at(2026, 3, 1, 9, 15), True, "Duplicate Name Exists Error")


def test_date_and_message_columns_are_optional():
    parsed = rows_of("Type,Reference,Status\nSale,SO-1,Completed\n")
    (row,) = parsed.rows
    assert row.date is None and row.message == "" and row.error is False


def test_a_missing_required_column_is_an_error_for_the_whole_file():
    with pytest.raises(IngestError, match="missing reference"):
        rows_of("Date,Type,Status,Message\n2026-03-01,Sale,Error,boom\n")
    with pytest.raises(IngestError, match="empty"):
        rows_of("")
    with pytest.raises(IngestError, match="missing type"):
        rows_of("just some text\nmore text\n")


def test_title_lines_above_the_header_are_skipped():
    parsed = rows_of("DEAR Sync History export\n\nDate,Type,Reference,Status,Message\n2026-03-01,Sale,SO-1,Error,x\n")
    assert [r.line for r in parsed.rows] == [4]
    assert parsed.rows_read == 1


# -- CSV dialects ----------------------------------------------------------------------------

def test_quoted_commas_quotes_and_newlines():
    text = ('Date,Type,Reference,Status,Message\r\n'
            '2026-03-01,Sale,"SO-1, part 2",Error,"Product ""Widget, Large"" in ""SO-1"" has not been exported, '
            'see\r\nsync history"\r\n'
            '2026-03-01,Sale,SO-2,Error,plain\r\n')
    parsed = rows_of(text)
    first, second = parsed.rows
    assert first.reference == "SO-1, part 2"
    assert first.message == 'Product "Widget, Large" in "SO-1" has not been exported, see\r\nsync history'
    assert (first.line, second.line) == (2, 4)  # the line where each record starts


def test_utf8_bom_crlf_and_semicolons():
    text = "\ufeffDate;Type;Reference;Status;Message\r\n01/03/2026 09:15;Sale;SO-1;Error;Bill \"B-1\" has not, been\r\n"
    (row,) = rows_of(text.encode("utf-8")).rows
    assert (row.kind, row.reference, row.date, row.message) == ("Sale", "SO-1", at(2026, 3, 1, 9, 15),
                                                                'Bill "B-1" has not, been')


def test_tab_delimited():
    (row,) = rows_of("Date\tType\tReference\tStatus\tMessage\n14/03/2024\tBill\tPO-00231\tError\tx, y\n").rows
    assert (row.kind, row.reference, row.date, row.message) == ("Bill", "PO-00231", at(2024, 3, 14), "x, y")


def test_windows_1252_file():
    data = "Date,Type,Reference,Status,Message\n2026-03-01,Sale,SO-1,Error,Caf\u00e9 \u2013 failed\n".encode("cp1252")
    (row,) = rows_of(data).rows
    assert row.message == "Caf\u00e9 \u2013 failed"


def test_text_stream_and_path(tmp_path):
    text = "Date,Type,Reference,Status,Message\n2026-03-01,Sale,SO-1,Error,x\n"
    (tmp_path / "h.csv").write_text(text, encoding="utf-8-sig")
    assert parse_csv(io.StringIO("\ufeff" + text)).rows == parse_csv(tmp_path / "h.csv").rows == \
        parse_csv(str(tmp_path / "h.csv")).rows


# -- malformed rows --------------------------------------------------------------------------

MALFORMED = (
    "Date,Type,Reference,Status,Message\n"
    "2026-03-01,Sale,SO-1,Error,fine\n"                       # 2
    "2026-03-01,Sale,SO-2,Error,Bill has not, been exported\n"  # 3: unquoted comma
    "2026-03-01,Sale,SO-3\n"                                   # 4: too few fields
    "2026-03-01,Sale,\"SO-4\"x,Error,bad quote\n"              # 5: csv error
    "\n"                                                       # 6: blank, ignored
    "31/02/2026,Sale,SO-5,Error,no such day\n"                 # 7
    "2026-03-01,,SO-6,Error,no type\n"                         # 8
    "2026-03-01,Sale,,Completed,\n"                            # 9
    "2026-03-01,Sale,SO-7,Error,fine too,,\n"                  # 10: empty trailing fields are fine
    "soon,Sale,SO-8,Error,x\n"                                 # 11
    f"2026-03-01,Sale,{'R' * 129},Error,x\n"                    # 12
    "2026-03-01,Sale,SO-9,Error,\"never closed\n"              # 13
    "2026-03-01,Sale,SO-10,Error,swallowed\n"                  # 14
)


def test_malformed_rows_are_reported_by_line_and_the_rest_kept():
    parsed = rows_of(MALFORMED)
    assert [r.reference for r in parsed.rows] == ["SO-1", "SO-7"]
    problems = dict(parsed.problems)
    assert sorted(problems) == [3, 4, 5, 7, 8, 9, 11, 12, 13]
    assert "6 fields, the header has 5" in problems[3] and "comma" in problems[3]
    assert "3 fields" in problems[4]
    assert "unreadable CSV" in problems[5]
    assert "31/02/2026" in problems[7]
    assert problems[8] == "no type"
    assert problems[9] == "no reference"
    assert "soon" in problems[11]
    assert "longer than 128" in problems[12]
    assert "never closed" in problems[13] and "lines 13-14" in problems[13]
    assert parsed.rows_read == 2 + len(problems)


# -- statuses --------------------------------------------------------------------------------

@pytest.mark.parametrize("status, success", [
    ("Completed", True), ("completed", True), ("Skipped", True), ("SUCCESS", True), ("Synced", True),
    ("OK", True), ("Done", True), ("Completed successfully", True), ("Error", False), ("Failed", False),
    ("Pending", False), ("Completed with processing errors", False), ("successfully", False), ("", False),
])
def test_success_statuses(status, success):
    assert status_is_success(status) is success


def test_row_meanings():
    parsed = rows_of("Type,Reference,Status,Message\n"
                     "Sale,SO-1,Error,boom\n"
                     "Sale,SO-2,Pending,\n"          # queued: nothing to do
                     "Sale,SO-3,Pending,waiting for product\n"
                     "Sale,SO-4,Completed,Exported\n"
                     "Sale,SO-5,Completed,Processing errors\n"
                     "Sale,SO-6,Completed with processing errors,\n")
    assert [(r.reference, r.error, r.message) for r in parsed.rows] == [
        ("SO-1", True, "boom"), ("SO-2", None, ""), ("SO-3", True, "waiting for product"),
        ("SO-4", False, "Exported"), ("SO-5", True, "Processing errors"),
        ("SO-6", True, "Completed with processing errors")]


# -- dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2026-03-01", at(2026, 3, 1)),
    ("2026-03-01 09:15", at(2026, 3, 1, 9, 15)),
    ("2026-03-01T09:15:30", at(2026, 3, 1, 9, 15, 30)),
    ("2026-03-01T09:15:30.250Z", at(2026, 3, 1, 9, 15, 30, 250000)),
    ("2026-03-01T09:15:00+02:00", at(2026, 3, 1, 7, 15)),
    ("2026-03-01 09:15 UTC", at(2026, 3, 1, 9, 15)),
    ("2026/03/01 09:15", at(2026, 3, 1, 9, 15)),
    ("01/03/2026 09:15", at(2026, 3, 1, 9, 15)),     # day first
    ("3/1/2026", at(2026, 1, 3)),                    # day first
    ("25/12/2026", at(2026, 12, 25)),
    ("12/25/2026", at(2026, 12, 25)),                # impossible day first: read month first
    ("01.03.26", at(2026, 3, 1)),
    ("01-03-2026 9:05:07", at(2026, 3, 1, 9, 5, 7)),
    ("1/3/2026 9:15 PM", at(2026, 3, 1, 21, 15)),
    ("1/3/2026 12:15 am", at(2026, 3, 1, 0, 15)),
    ("1 Mar 2026", at(2026, 3, 1)),
    ("01-Mar-2026 09:15", at(2026, 3, 1, 9, 15)),
    ("Sunday, 1 March 2026 09:15", at(2026, 3, 1, 9, 15)),
    ("Mar 1, 2026 9:15 AM", at(2026, 3, 1, 9, 15)),
    ("March 1st, 2026", at(2026, 3, 1)),
    ("1/3/2026 09:15 +1000", at(2026, 2, 28, 23, 15)),
])
def test_dates(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["", "soon", "31/02/2026", "2026-13-01", "1/3/2026 25:00", "13:00 PM 1/3/2026",
                                  "1/3/2026 13:00 PM", "99/99/99", "1 Foo 2026", "2026", "1.2.3"])
def test_unreadable_dates(text):
    assert parse_date(text) is None


def test_month_first_when_the_file_shows_it():
    parsed = rows_of("Date,Type,Reference,Status,Message\n"
                     "03/01/2026,Sale,SO-1,Error,x\n"
                     "03/25/2026,Sale,SO-2,Error,x\n")
    assert [r.date for r in parsed.rows] == [at(2026, 3, 1), at(2026, 3, 25)]
    parsed = rows_of("Date,Type,Reference,Status,Message\n"
                     "03/01/2026,Sale,SO-1,Error,x\n"
                     "25/03/2026,Sale,SO-2,Error,x\n")
    assert [r.date for r in parsed.rows] == [at(2026, 1, 3), at(2026, 3, 25)]


def test_parse_date_is_timezone_aware_utc():
    value = parse_date("2026-03-01T09:15:00-05:00")
    assert value.utcoffset() == timedelta(0) and value.hour == 14


# -- JSON rows -------------------------------------------------------------------------------

def test_json_rows_with_synonym_keys():
    parsed = parse_json_rows({"rows": [
        {"Sync Status": "Error", "Doc No": "SO-1", "Transaction Type": "Sale", "Created": "2026-03-01T09:15:00Z",
         "Error Message": "Duplicate Name Exists Error", "extra": [1, 2]},
        {"status": "Completed", "reference": 1042, "type": "Invoice", "date": 1772356500},
    ]})
    first, second = parsed.rows
    assert (first.kind, first.reference, first.error, first.date) == ("Sale", "SO-1", True, at(2026, 3, 1, 9, 15))
    assert (second.reference, second.error, second.date) == ("1042", False, at(2026, 3, 1, 9, 15))
    assert parsed.unit == "row" and parsed.rows_read == 2


def test_json_bad_rows_are_reported_by_index():
    parsed = parse_json_rows([
        {"type": "Sale", "reference": "SO-1", "status": "Error", "message": "x"},
        "not a row",
        {"type": "Sale", "status": "Error", "message": "x"},
        {"type": "Sale", "reference": {"id": 3}, "status": "Error"},
        {"type": "Sale", "reference": "SO-5", "status": "Error", "date": "yesterday", "message": "x"},
    ])
    assert [r.reference for r in parsed.rows] == ["SO-1"]
    assert parsed.problems == [(2, "not an object"), (3, "no reference"), (4, "reference must be text"),
                               (5, "date 'yesterday' is not a date I can read")]


@pytest.mark.parametrize("payload", [{"data": []}, "rows", 42, None, {"rows": {"a": 1}}])
def test_json_that_is_not_rows(payload):
    with pytest.raises(IngestError):
        parse_json_rows(payload)

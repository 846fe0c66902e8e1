"""`python -m bot ...` end to end: what each command does, through its command line in this
process (run_bot_here), and the process itself (stdin bytes, imports, a first reply, training)
in subprocesses.

Every subprocess uses the session's data dir (its model is current) with MODEL_STALE=refuse,
so none of them retrains; `train` runs on the tiny synthetic project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.replies.render import Phrases
from bot.wiring import channel_formats
from tests.support import PROJECT_ROOT, current_model_dir, run_bot, run_bot_here, strict_json, strings

PHRASES = Phrases(PROJECT_ROOT / "responses", channel_formats())
BILL = 'Bill "BILL-7731" has not been exported to QuickBooks'


def out_lines(result) -> list[str]:
    return result.stdout.decode("utf-8").splitlines()


# -- classify ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def classified(cli_env):
    lines = [
        json.dumps({"id": 1, "text": BILL}).encode(),
        b"this line is not json",
        json.dumps({"id": "b", "text": "hi"}).encode(),
        b"",  # blank lines are skipped
        json.dumps({"id": 3}).encode(),  # no text
        b"[1, 2, 3]",
        b'{"id": 4, "text": "caf\xff\xfe\xc3 Unexpected user error. ( -12476 )"}',  # invalid UTF-8 inside
        b"\xff\xfe\xfd",  # nothing but invalid bytes
        json.dumps({"id": {"nested": [1]}, "text": "thanks!"}).encode(),
        json.dumps({"id": 5, "text": 42}).encode(),
        json.dumps({"id": 6, "text": "our COGS in quickbooks doubled"}).encode(),  # last line: no newline
    ]
    result = run_bot(["classify"], stdin=b"\n".join(lines), env=cli_env)
    return result


def test_classify_exits_cleanly(classified):
    assert classified.returncode == 0, classified.stderr.decode()


def test_classify_answers_every_non_blank_line_in_order(classified):
    records = [strict_json(line) for line in out_lines(classified)]
    assert [r["id"] for r in records] == [1, None, "b", 3, None, 4, None, '{"nested": [1]}', 5, 6]


def test_classify_answers(classified):
    records = {json.dumps(r["id"]): r for r in map(strict_json, out_lines(classified))}
    bill = records["1"]
    assert bill["intent"] == "bill_not_exported"
    assert bill["kind"] == "diagnosis"
    assert bill["entities"] == {"bill": "BILL-7731"}
    assert bill["confidence"] == pytest.approx(0.99)
    assert bill["findings"][0]["source"] == "signature"
    assert {"intent", "confidence", "alternatives", "entities", "kind", "findings"} <= set(bill)
    assert records['"b"']["intent"] == "greeting"
    assert records['"{\\"nested\\": [1]}"']["intent"] == "thanks"
    assert records["6"]["intent"] == "duplicate_cogs"


def test_classify_reports_bad_lines_and_carries_on(classified):
    records = [strict_json(line) for line in out_lines(classified)]
    errors = [r for r in records if "error" in r]
    assert [r["id"] for r in errors] == [None, 3, None, None, 5]
    for r in errors:
        assert set(r) == {"id", "error"}
        assert isinstance(r["error"], str) and r["error"]
    assert errors[0]["error"].startswith(PHRASES("cli_bad_json", detail="x")[:-1])
    assert errors[1]["error"] == PHRASES("cli_bad_shape")
    # the line after the non-JSON line still got its answer
    assert records[2]["id"] == "b" and records[2]["intent"] == "greeting"


def test_classify_survives_invalid_utf8(classified):
    record = next(r for r in map(strict_json, out_lines(classified)) if r["id"] == 4)
    assert record["intent"] == "unexpected_user_error"
    assert record["entities"]["error_code"] == "-12476"


def test_classify_reports_every_finding_kind_and_source_system(cli_env):
    paste = ("2025-06-02 03:10:01 ERROR [qbo] Another customer, supplier, or employee is already using this name\n"
             "2025-06-02 03:10:02 ERROR CODE:5010 Stale Object Error\n"
             "2025-06-02 03:10:04 ERROR [wms] bin C-4 frozen")
    lines = [{"id": "paste", "text": paste},
             {"id": "xero", "text": "Xero says the invoice date is before the lock date"},
             {"id": "fr", "text": "La période comptable est clôturée dans QuickBooks, la synchro DEAR échoue."}]
    result = run_bot_here(["classify"], stdin="".join(json.dumps(x) + "\n" for x in lines), env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    records = {r["id"]: r for r in map(strict_json, out_lines(result))}
    found = records["paste"]["findings"]
    assert [f["kind"] for f in found] == ["problem", "uncovered_code", "not_recognised"]
    assert found[1]["code"] == "5010" and found[1]["meaning"]
    assert found[2]["text"].endswith("bin C-4 frozen")
    xero = records["xero"]
    assert xero["intent"] == "out_of_scope" and xero["entities"]["source_system"] == "xero"
    assert xero["findings"][0]["kind"] == "other_product"
    assert records["fr"]["intent"] == "period_closed" and records["fr"]["language"] == "fr"


def test_classify_empty_input(cli_env):
    result = run_bot_here(["classify"], stdin=b"", env=cli_env)
    assert result.returncode == 0
    assert result.stdout == b""


def test_classify_output_is_always_strict_json(cli_env):
    stdin = b'{"id": NaN, "text": "hi"}\n{"id": 1e999, "text": "hi"}\n'
    result = run_bot_here(["classify"], stdin=stdin, env=cli_env)
    assert result.returncode == 0
    for line in out_lines(result):
        strict_json(line)


# -- ask -------------------------------------------------------------------------------------

def test_ask_with_an_argument(cli_env):
    result = run_bot(["ask", BILL], env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    assert out.startswith("A supplier bill has not reached QuickBooks yet\n")
    assert "find the entry for bill BILL-7731." in out
    assert "matched the exact error text" in out


def test_ask_from_stdin(cli_env):
    result = run_bot_here(["ask"], stdin=f"morning all\n{BILL}\nany ideas?\n", env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("A supplier bill has not reached QuickBooks yet\n")


@pytest.mark.parametrize("fmt", ["json", "slack", "teams"])
def test_ask_formats(cli_env, fmt):
    result = run_bot_here(["ask", "--format", fmt, "Unexpected", "user", "error.", "(", "-12476", ")"], env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    data = json.loads(result.stdout)
    if fmt == "json":
        assert data["intent"] == "unexpected_user_error"
        assert data["entities"] == {"error_code": "-12476"}
    elif fmt == "slack":
        assert data["blocks"][0]["type"] == "header"
        assert "*-12476*" in json.dumps(data)
    else:
        assert data["type"] == "AdaptiveCard"
        # "-" with no space after it starts no list: no backslash (Teams' phones would show it)
        assert any("**-12476**" in s for s in strings(data))


def test_ask_out_of_scope(cli_env):
    result = run_bot_here(["ask", "my printer keeps jamming on page two"], env=cli_env)
    assert result.returncode == 0
    assert "I don't recognise this" in result.stdout.decode()


def test_ask_another_product_is_refused_naming_it(cli_env):
    result = run_bot_here(["ask", "how do I reset my Xero password"], env=cli_env)
    assert result.returncode == 0
    reply = result.stdout.decode()
    assert "about Xero, not the DEAR / Cin7 Core sync" in reply
    assert "How to fix it" not in reply


# -- chat ------------------------------------------------------------------------------------

def test_chat_conversation(cli_env, catalog, core):
    from bot.core.desk import Desk

    # "Not this" lists the other problems, the model's most likely first, without the diagnosis.
    problems, _ranked = Desk(core.engine).choices_instead("bill_not_exported", BILL)
    assert "bill_not_exported" not in problems
    pick = problems.index("period_closed") + 1
    script = "\n".join(["fixed", BILL, "not this", "999", str(pick), "fixed", ""])
    result = run_bot(["chat"], stdin=script, env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    out = result.stdout.decode()
    expected_in_order = [
        PHRASES("chat_welcome"),
        PHRASES("chat_no_previous"),  # "fixed" before anything was asked
        "A supplier bill has not reached QuickBooks yet",
        "find the entry for bill BILL-7731.",
        PHRASES("chat_not_this_menu", instead=catalog.title("bill_not_exported")),
        f"  {pick}. {catalog.title('period_closed')}",
        PHRASES("chat_pick_range", count=len(problems)),
        catalog.title("period_closed") + "\n",
        PHRASES("chat_fixed"),
    ]
    at = 0
    for piece in expected_in_order:
        found = out.find(piece, at)
        assert found >= 0, f"{piece!r} missing after position {at} in:\n{out}"
        at = found + len(piece)


def test_ask_says_nothing_a_one_shot_reader_cannot_answer(cli_env):
    """`ask` prints one reply and exits: no "Reply 'fixed'" (chat asks that, since it reads on)."""
    for text in (BILL, "the sync is acting weird since yesterday, any idea?", "I need to talk to a human"):
        out = run_bot_here(["ask", text], env=cli_env).stdout.decode()
        assert "Reply" not in out and 'reply "person"' not in out, out
        assert not out.rstrip().endswith('"not this".')


def test_chat_still_failing_and_person(cli_env):
    script = "\n".join([BILL, "still failing", "person", "quit", "this is never read"])
    result = run_bot_here(["chat"], stdin=script, env=cli_env)
    assert result.returncode == 0
    out = result.stdout.decode()
    assert PHRASES("chat_still_failing") in out
    assert PHRASES("chat_escalate") in out


def test_chat_ends_at_eof(cli_env):
    result = run_bot_here(["chat"], stdin="hi", env=cli_env)
    assert result.returncode == 0
    assert "Hi, I'm SyncMedic." in result.stdout.decode()


def test_classify_never_imports_scikit_learn(cli_env):
    """Serving runs on the compiled numpy model: scikit-learn and scipy would add about a second
    to every cold start. PYTHONPROFILEIMPORTTIME makes Python list every module it imports."""
    result = run_bot(["classify"], stdin=json.dumps({"id": 1, "text": BILL}),
                     env={**cli_env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert result.returncode == 0, result.stderr.decode()
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.decode().splitlines()
                if line.startswith("import time:")}
    assert {"bot.core.nlu.engine", "bot.core.model.compiled", "numpy"} <= imported  # the listing is real
    assert sorted(m for m in imported if m.split(".")[0] in ("sklearn", "scipy")) == []


# -- evaluate --------------------------------------------------------------------------------

def test_evaluate_json(cli_env, tmp_path):
    matrix = tmp_path / "out" / "matrix.svg"
    result = run_bot_here(["evaluate", "--json", "--matrix", str(matrix)], env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    report = json.loads(result.stdout)
    assert {"total", "accuracy", "in_scope_top3", "out_of_scope", "per_intent", "confusions",
            "confusion_matrix"} <= set(report)
    assert report["total"] > 0
    for key in ("accuracy", "in_scope_top3"):
        assert 0.0 <= report[key] <= 1.0
    assert set(report["out_of_scope"]) == {"precision", "recall"}
    assert sum(m["support"] for m in report["per_intent"].values()) == report["total"]
    for m in report["per_intent"].values():
        assert all(0.0 <= m[k] <= 1.0 for k in ("precision", "recall", "f1"))
    for c in report["confusions"]:
        assert c["expected"] != c["predicted"] and c["count"] > 0
    assert report["confusion_matrix"] == str(matrix)
    svg = matrix.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    # both held-out sets, side by side, each with the trust figures
    assert set(report["sets"]) == {"heldout", "heldout-wild"}
    for figures in report["sets"].values():
        confident = figures["out_of_scope_answered_confidently"]
        assert 0 <= confident["count"] <= confident["of"] and confident["confidence_at_least"] == 0.8
        assert Path(figures["confusion_matrix"]).exists()


def test_evaluate_prints_both_sets_side_by_side(cli_env, tmp_path):
    result = run_bot_here(["evaluate", "--matrix", str(tmp_path / "m.svg")], env=cli_env)
    assert result.returncode == 0, result.stderr.decode()
    header = result.stdout.decode().splitlines()[0]
    assert "training/heldout/" in header and "training/heldout-wild/" in header
    assert "out-of-scope answered at >= 0.8" in result.stdout.decode()


# -- train -----------------------------------------------------------------------------------

def test_train_quiet_into_a_temp_data_dir(tiny_root, tmp_path):
    data = tmp_path / "data"
    env = {"SYNCMEDIC_ROOT": str(tiny_root), "SYNCMEDIC_DATA_DIR": str(data)}
    result = run_bot(["train", "--quiet"], env=env)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""  # --quiet: no progress lines
    out = result.stdout.decode()
    assert f"model saved to {data / 'model'}" in out
    assert "examples: 40" in out
    assert current_model_dir(data / "model", tiny_root)
    # the model it wrote is served as is
    ask = run_bot_here(["ask", "--format", "json", 'Widget "W-42" is stuck in the queue'],
                  env={**env, "MODEL_STALE": "refuse"})
    assert ask.returncode == 0, ask.stderr.decode()
    assert json.loads(ask.stdout)["intent"] == "widget_stuck"


# -- configuration errors ----------------------------------------------------------------------

def test_stale_model_with_refuse_exits_2(tiny_root, tmp_path):
    env = {"SYNCMEDIC_ROOT": str(tiny_root), "SYNCMEDIC_DATA_DIR": str(tmp_path / "none"), "MODEL_STALE": "refuse"}
    result = run_bot_here(["ask", "hi"], env=env)
    assert result.returncode == 2
    assert "python -m bot train" in result.stderr.decode()
    assert not (tmp_path / "none" / "model").exists()


@pytest.mark.parametrize("env", [{"MODEL_STALE": "sometimes"}, {"PORT": "99999"}, {"FOLLOWUP_AFTER": "soon"}])
def test_bad_settings_exit_2(cli_env, env):
    result = run_bot_here(["ask", "hi"], env={**cli_env, **env})
    assert result.returncode == 2
    assert result.stderr.decode().startswith("configuration error:")
    assert next(iter(env)) in result.stderr.decode()


def test_broken_knowledge_base_exits_2(tmp_path, tiny_root):
    (tiny_root / "intents" / "gadget_lost.yaml").write_text("id: wrong_id\n", encoding="utf-8")
    env = {"SYNCMEDIC_ROOT": str(tiny_root), "SYNCMEDIC_DATA_DIR": str(tmp_path / "d")}
    result = run_bot_here(["ask", "hi"], env=env)
    assert result.returncode == 2
    assert "gadget_lost.yaml" in result.stderr.decode()

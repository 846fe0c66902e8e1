"""`gaps --draft`: a starting intent and examples for a person to finish, which the catalog and
the model leave alone until the `draft: true` lines are deleted."""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from bot.core.insights.draft import DraftError, draft_id, suggested_signature, write_draft
from bot.core.insights.gaps import find_gaps
from bot.core.insights.period import Period
from bot.core.model.examples import load_training_examples
from bot.core.model.store import inputs_fingerprint
from bot.core.nlu.catalog import load_catalog
from tests.conftest import PROJECT_ROOT
from tests.core.insights.history import SINCE, UNTIL
from tests.core.insights.test_gaps import ENDED, STALE, codes, refused

MADE = datetime(2026, 3, 16, tzinfo=timezone.utc)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's intents/ and training/examples/ to write drafts into."""
    shutil.copytree(PROJECT_ROOT / "intents", tmp_path / "intents")
    shutil.copytree(PROJECT_ROOT / "training" / "examples", tmp_path / "training" / "examples")
    return tmp_path


@pytest.fixture
def stale_gap(sqlite_store, core):
    refused(sqlite_store, [(t, f"U{n}") for n, t in enumerate(STALE + ENDED)], code_of=codes(core))
    gaps = find_gaps(sqlite_store, core.engine, Period(SINCE, UNTIL), UNTIL, timedelta(days=30))
    return next(g for g in gaps.clusters if g.code == "5010")


def test_a_draft_intent_and_its_examples(project: Path, core, stale_gap):
    draft = write_draft(stale_gap, core.catalog, project / "intents", project / "training", made_at=MADE)
    assert draft.intent_id == "stale_object_error"  # QuickBooks' own name for the code
    doc = yaml.safe_load(draft.intent_file.read_text(encoding="utf-8"))
    assert doc["draft"] is True and doc["id"] == "stale_object_error" and doc["kind"] == "problem"
    assert doc["title"].startswith("TODO") and doc["steps"][0].startswith("TODO")
    assert doc["related"] == [stale_gap.nearest]
    text = draft.intent_file.read_text(encoding="utf-8")
    assert f"gaps --draft {stale_gap.id}" in text and "QuickBooks error code 5010 (Stale Object Error)" in text
    # The suggested signature matches the error text it came from, specifics and all.
    [signature] = doc["signatures"]
    assert re.search(signature["pattern"], "ERROR CODE:5010 Stale Object Error when syncing invoice INV-77",
                     re.IGNORECASE) or re.search(signature["pattern"], "stale object error again on SO-1", re.I)
    examples = yaml.safe_load(draft.examples_file.read_text(encoding="utf-8"))
    assert examples["draft"] is True and examples["intent"] == "stale_object_error"
    assert len(examples["examples"]) == draft.examples == 6
    joined = "\n".join(examples["examples"])
    assert "[ref]" not in joined and "REF-1001" in joined          # masks filled with made-up values
    for real in ("INV-2231", "SO-00412", "Maria", "Acme", "PAY-22"):
        assert real not in joined


def test_a_draft_is_left_alone_until_finished(project: Path, core, stale_gap):
    before = inputs_fingerprint(project / "intents", project / "training")
    draft = write_draft(stale_gap, core.catalog, project / "intents", project / "training", made_at=MADE)
    assert inputs_fingerprint(project / "intents", project / "training") == before   # no rebuild for a draft
    catalog = load_catalog(project / "intents")
    assert "stale_object_error" not in catalog and len(catalog.ids) == len(core.catalog.ids)
    assert all(e.intent != "stale_object_error" for e in load_training_examples(project / "training", catalog))
    # Finished: the person wrote the fields and deleted `draft: true`: now it is an intent.
    finished = draft.intent_file.read_text(encoding="utf-8").replace("draft: true\n", "").replace(
        '"TODO: ', '"Written by a person: ')
    draft.intent_file.write_text(finished, encoding="utf-8")
    draft.examples_file.write_text(draft.examples_file.read_text(encoding="utf-8").replace("draft: true\n", ""),
                                   encoding="utf-8")
    catalog = load_catalog(project / "intents")
    assert catalog["stale_object_error"].title.startswith("Written by a person")
    assert inputs_fingerprint(project / "intents", project / "training") != before   # now it is learned
    assert sum(e.intent == "stale_object_error" for e in load_training_examples(project / "training", catalog)) == 6


def test_nothing_is_overwritten(project: Path, core, stale_gap):
    write_draft(stale_gap, core.catalog, project / "intents", project / "training", made_at=MADE)
    before = (project / "intents" / "stale_object_error.yaml").read_bytes()
    with pytest.raises(DraftError, match="already exists"):
        write_draft(stale_gap, core.catalog, project / "intents", project / "training", made_at=MADE)
    assert (project / "intents" / "stale_object_error.yaml").read_bytes() == before
    with pytest.raises(DraftError, match="already an intent"):
        draft_id(stale_gap, core.catalog, "bill_not_exported")
    with pytest.raises(DraftError, match="cannot be an intent id"):
        draft_id(stale_gap, core.catalog, "x")
    assert draft_id(stale_gap, core.catalog, "Stale Objects") == "stale_objects"


def test_signatures_are_bounded_or_not_suggested():
    assert suggested_signature('Product "[ref]" failed with [n] errors') == \
        'Product "(?P<reference>[^\\s"]{1,80})" failed with (?:\\d{1,12}) errors'
    assert suggested_signature("[ref]") == ""          # too short to mean anything

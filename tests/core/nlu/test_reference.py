"""The reference files in intents/reference/: optional, and checked like the knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.nlu.catalog import CatalogError, load_catalog
from bot.core.nlu.codes import load_codebook
from bot.core.nlu.language import load_languages
from bot.core.nlu.lookups import load_lookups
from bot.core.nlu.systems import load_systems

PROJECT_INTENTS = Path(__file__).resolve().parents[3] / "intents"


def test_the_project_reference_files_load(catalog):
    lookups = load_lookups(PROJECT_INTENTS, catalog)
    assert lookups.codes and lookups.systems.others and lookups.languages.languages


def test_a_project_without_reference_files_has_none_of_that_knowledge(tmp_path, catalog):
    lookups = load_lookups(tmp_path, catalog)
    assert not lookups.codes
    assert lookups.systems.sources("Xero says no").other is None
    assert lookups.languages.detect("la période comptable est clôturée") is None


def write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "reference"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("text,problem", [
    ("codes:\n  - {code: '1', name: X, intent: no_such_intent}\n", "not in the catalog"),
    ("codes:\n  - {code: '1', name: X, intent: period_closed, meaning: both}\n", "either 'intent'"),
    ("codes:\n  - {code: '1', name: X, meaning: m, match: ['a+']}\n", "unbounded"),
    ("codes:\n  - {code: '1', name: X, meaning: m, match: ['(a)']}\n", "capturing group"),
    ("codes:\n  - {code: '1', name: X, meaning: m}\n  - {code: '1', name: Y, meaning: n}\n", "listed twice"),
    ("messages:\n  - {name: X, meaning: m}\n", "needs 'match'"),
])
def test_a_bad_code_book_fails_naming_the_problem(tmp_path, catalog, text, problem):
    with pytest.raises(CatalogError, match=problem):
        load_codebook(write(tmp_path, "qbo_error_codes.yaml", text), catalog)


def test_a_bad_systems_file_fails_naming_the_problem(tmp_path):
    with pytest.raises(CatalogError, match="role"):
        load_systems(write(tmp_path, "source_systems.yaml", "others:\n  - {id: x, name: X, role: other, match: [x]}\n"))
    with pytest.raises(CatalogError, match="unbounded"):
        load_systems(write(tmp_path, "source_systems.yaml", "others:\n  - {id: x, name: X, role: app, match: ['x*']}\n"))


def test_a_bad_language_term_fails_when_the_language_is_first_used(tmp_path):
    languages = load_languages(write(tmp_path, "languages.yaml",
                                     "languages:\n  fr:\n    name: French\n    words: [le]\n    terms: {closed: ['clo.*']}\n"))
    with pytest.raises(CatalogError, match="unbounded"):
        languages.languages[0].terms()


def test_the_real_catalog_and_reference_agree():
    catalog = load_catalog(PROJECT_INTENTS)
    book = load_codebook(PROJECT_INTENTS, catalog)
    assert all(e.intent in catalog for e in book.entries if e.intent)

"""Descriptions in French, Spanish, German, Dutch and Portuguese: recognised, answered in
English with a one-line note; an English error text inside a foreign sentence is matched as usual."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.nlu.answers import AnswerKind
from bot.core.nlu.language import fold, load_languages

PROJECT_INTENTS = Path(__file__).resolve().parents[3] / "intents"


@pytest.mark.parametrize("text,language,intent", [
    ("La synchronisation avec QuickBooks est refusée : la période comptable est clôturée depuis le 30 avril.",
     "fr", "period_closed"),
    ("Le fournisseur ne passe pas dans QuickBooks parce qu'un client porte déjà le même nom.", "fr", "duplicate_name"),
    ("QuickBooks rechaza el pago porque ya está incluido en un depósito bancario.", "es", "transaction_deposited"),
    ("La sincronización falla: el número de referencia no es único para el asiento de diario.",
     "es", "reference_number_not_unique"),
    ("Die Zahlung mit einem negativen Betrag wird von QuickBooks abgelehnt.", "de", "negative_amount"),
    ("De koppeling tussen DEAR en QuickBooks is verbroken zonder dat we iets hebben veranderd.", "nl", "qbo_disconnected"),
    ("O custo das mercadorias vendidas aparece em dobro no QuickBooks desde a integração.", "pt", "duplicate_cogs"),
])
def test_a_description_in_another_language(core, text, language, intent):
    answer = core.engine.diagnose(text)
    assert answer.language == language
    assert answer.intent == intent
    assert answer.kind in (AnswerKind.DIAGNOSIS, AnswerKind.CHOICE)
    assert answer.to_json()["language"] == language


def test_the_reply_says_it_answers_in_english(core):
    answer = core.engine.diagnose("QuickBooks rechaza el pago porque ya está incluido en un depósito bancario.")
    text = core.renderer.text(answer)
    assert text.startswith("(Your message looks like Spanish. I answer in English.)")
    assert "How to fix it" in text
    assert "I answer in English" in str(core.renderer.slack(answer))
    assert "I answer in English" in str(core.renderer.teams(answer))


def test_an_english_error_inside_a_foreign_sentence(core):
    answer = core.engine.diagnose("Bonjour, nous avons ce message depuis hier : Item version already exists in QBO. "
                                  "Que faut-il faire ?")
    assert answer.intent == "product_version_error"
    assert answer.primary.source == "signature"


@pytest.mark.parametrize("text", [
    "our COGS in quickbooks doubled",
    "The account period has closed and the account books cannot be updated",
    "Dear team, the sync is down again",
])
def test_english_is_not_taken_for_another_language(core, text):
    assert core.engine.diagnose(text).language == ""


def test_french_is_told_from_spanish_by_its_words():
    languages = load_languages(PROJECT_INTENTS)
    assert languages.detect("La conexión entre DEAR y QuickBooks se cortó sola.").code == "es"
    assert languages.detect("La connexion entre DEAR et QuickBooks a sauté cette nuit.").code == "fr"


def test_to_english_puts_domain_words_into_english():
    languages = load_languages(PROJECT_INTENTS)
    german = next(lang for lang in languages.languages if lang.code == "de")
    read = german.to_english("Die Buchungsperiode ist in QuickBooks geschlossen")
    assert "accounting period" in read and "closed" in read and "die" not in read.split()


def test_fold_drops_accents():
    assert fold("Période clôturée, Straße") == "periode cloturee, strasse"


def test_every_language_term_is_a_bounded_pattern():
    """Terms are checked when a language is first used; check all of them here, so a bad edit
    fails in the tests rather than on the first message in that language."""
    languages = load_languages(PROJECT_INTENTS)
    assert {lang.code for lang in languages.languages} == {"fr", "es", "de", "nl", "pt"}
    for language in languages.languages:
        assert language.terms().groups == len(language.sources)

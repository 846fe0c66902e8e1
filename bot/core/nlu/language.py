"""Messages in French, Spanish, German, Dutch or Portuguese: recognised, read in English.

The knowledge base and the model are English. A message is taken to be in another language when
it uses more of that language's common words than of English's; its domain words are then put
into English from intents/reference/languages.yaml ("période comptable clôturée" -> "accounting
period closed") and its common words dropped, so the model reads what the message is about.
Exact English error texts inside the message are matched on the original text, as usual. The
reply stays in English and says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .catalog import CatalogError
from .reference import patterns, read_yaml, reference_file, text

LANGUAGES_FILE = "languages.yaml"
# A message must use at least this many of a language's common words to be read as that language.
MIN_WORDS = 2
# Only the opening of a paste decides its language (and only it is put into English for the model
# when the paste is long: its error lines are matched as they are).
SAMPLE_CHARS = 2_000
_WORD = re.compile(r"[a-z]{1,30}")
_ELISION = re.compile(r"\b(?:[ldjnmtsc]|qu)'")


def fold(text: str) -> str:
    """Lower case without accents ("Période" -> "periode"; "ß" -> "ss")."""
    text = text.lower()
    if text.isascii():
        return text
    text = text.replace("\u00df", "ss")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Words several of these languages share with each other or with English ("de", "met", "die"):
# no evidence of which language a message is in, but noise for the model once it is known.
SHARED_WORDS = frozenset({"de", "a", "e", "o", "en", "met", "die", "was", "der", "van", "is", "in"})


@dataclass
class Language:
    code: str
    name: str
    words: frozenset[str]
    sources: tuple[tuple[str, str], ...]   # (pattern, English), longest pattern first
    where: str = ""
    letters: str = ""                      # letters only this language uses (ñ, ã, ß...)

    def __post_init__(self) -> None:
        self._terms: re.Pattern[str] | None = None
        self._english: list[str] = []   # the English for group n is _english[n - 1]

    def terms(self) -> re.Pattern[str]:
        """Every term pattern as one regex, one group each. Built (and checked) on first use: a
        few hundred patterns per language would otherwise cost a tenth of a second at every
        start of `python -m bot classify`, for messages that are nearly all English.

        The alternatives are grouped by their first letter behind a one-letter lookahead, so at
        each word start the engine tries the dozen patterns that can match there, not all two
        hundred (a tenth of the time per message)."""
        if self._terms is None:
            by_letter: dict[str, list[int]] = {}
            for n, (source, english) in enumerate(self.sources):
                patterns([source], f"{self.where} term {english!r}")  # bounded, no groups
                first = source[0] if source[:1].isalpha() and source[1:2] not in ("?", "*", "{") else ""
                by_letter.setdefault(first, []).append(n)
            parts, self._english = [], []
            for first, members in sorted(by_letter.items(), key=lambda item: item[0] == ""):
                branch = "|".join(f"({self.sources[n][0]})" for n in members)
                parts.append(f"(?={first})(?:{branch})" if first else f"(?:{branch})")
                self._english += [self.sources[n][1] for n in members]
            self._terms = re.compile(rf"\b(?:{'|'.join(parts)})\b" if parts else r"(?!x)x")
        return self._terms

    def to_english(self, text: str) -> str:
        """`text` with its domain words in English and its common words dropped."""
        folded = _ELISION.sub(" ", fold(text[:SAMPLE_CHARS]))
        terms = self.terms()
        folded = terms.sub(lambda m: f" {self._english[m.lastindex - 1]} ", folded)
        return " ".join(w for w in folded.split() if w not in self.words and w not in SHARED_WORDS)


class Languages:
    def __init__(self, english: frozenset[str], languages: list[Language]) -> None:
        self.english = english
        self.languages = languages
        # word -> the languages (by position) that use it; English is position len(languages).
        self._users: dict[str, tuple[int, ...]] = {}
        for n, language in enumerate(languages):
            for word in language.words:
                self._users[word] = self._users.get(word, ()) + (n,)
        for word in english:
            self._users[word] = self._users.get(word, ()) + (len(languages),)

    def detect(self, text: str) -> Language | None:
        """The language `text` is written in, when it is one of ours and not English: the one whose
        common words (and letters of its own, such as "ñ") it uses most, if that beats English.
        A short message with no English word at all needs only one."""
        if not self.languages:
            return None
        sample = text[:SAMPLE_CHARS]
        words = _WORD.findall(_ELISION.sub(" ", fold(sample)))
        if len(words) < MIN_WORDS:
            return None
        scores = [0] * (len(self.languages) + 1)
        users = self._users
        for word in words:
            for n in users.get(word, ()):
                scores[n] += 1
        english = scores[-1]
        lowered = sample.lower() if not sample.isascii() else ""
        best, best_score = None, 0
        for n, language in enumerate(self.languages):
            score = scores[n]
            if lowered and language.letters:
                score += sum(1 for c in language.letters if c in lowered)
            if score > best_score:
                best, best_score = language, score
        if best is None or best_score <= english:
            return None
        if best_score < MIN_WORDS and (english or len(words) < 4):
            return None
        return best


def _language(code: str, doc: object, where: str) -> Language:
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: expected a mapping")
    words = doc.get("words") or []
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise CatalogError(f"{where}: 'words' must be a list of words")
    terms = doc.get("terms") or {}
    if not isinstance(terms, dict):
        raise CatalogError(f"{where}: 'terms' must map English to a list of patterns")
    pairs: list[tuple[str, str]] = []
    for english, sources in terms.items():
        if not isinstance(sources, list) or not all(isinstance(s, str) and s for s in sources):
            raise CatalogError(f"{where} term {english!r}: expected a list of patterns")
        pairs += [(source, str(english)) for source in sources]
    # Longest pattern first, so "periode comptable" wins over "periode".
    pairs.sort(key=lambda pair: -len(pair[0]))
    letters = doc.get("letters") or []
    if not isinstance(letters, list) or not all(isinstance(c, str) and len(c) == 1 for c in letters):
        raise CatalogError(f"{where}: 'letters' must be a list of single letters")
    return Language(code, text(doc, "name", where), frozenset(w.lower() for w in words), tuple(pairs), where,
                    "".join(letters).lower())


def load_languages(intents_dir: Path) -> Languages:
    path = reference_file(intents_dir, LANGUAGES_FILE)
    doc = read_yaml(path)
    english = (doc.get("english") or {}).get("words") or []
    if not isinstance(english, list):
        raise CatalogError(f"{path.name}: english 'words' must be a list")
    languages = [_language(str(code), d, f"{path.name} {code}") for code, d in (doc.get("languages") or {}).items()]
    return Languages(frozenset(str(w).lower() for w in english), languages)

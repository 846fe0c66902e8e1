"""age_text (bot/core/replies/render.py): one wording of "how long open" for the digest and the
App Home, with its words in responses/phrases.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.core.replies.moments import age_text
from bot.core.replies.render import Phrases
from bot.settings import PROJECT_ROOT
from bot.wiring import channel_formats

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=timezone.utc)
PHRASES = Phrases(PROJECT_ROOT / "responses", channel_formats())


@pytest.mark.parametrize("age, text", [
    (timedelta(0), "1 min"), (timedelta(seconds=59), "1 min"), (timedelta(minutes=1), "1 min"),
    (timedelta(minutes=12), "12 min"), (timedelta(minutes=119), "119 min"), (timedelta(hours=2), "2 hours"),
    (timedelta(hours=47, minutes=59), "47 hours"), (timedelta(days=2), "2 days"), (timedelta(days=30), "30 days"),
    (timedelta(minutes=-5), "1 min"),  # a clock a little behind the database's: never a negative age
])
def test_age_text(age, text):
    assert age_text(NOW - age, NOW, PHRASES) == text


def test_an_unknown_start_is_said_so():
    assert age_text(None, NOW, PHRASES) == "unknown"


def test_the_words_come_from_phrases(tmp_path):
    (tmp_path / "phrases.yaml").write_text(
        'age_minutes: "{{ count }} Min."\nage_hours: "{{ count }} Std."\nage_days: "{{ count }} Tage"\n'
        "age_unknown: unbekannt\n", encoding="utf-8")
    german = Phrases(tmp_path, channel_formats())
    assert [age_text(NOW - age, NOW, german) for age in (timedelta(minutes=5), timedelta(hours=3), timedelta(days=4))] \
        == ["5 Min.", "3 Std.", "4 Tage"]
    assert age_text(None, NOW, german) == "unbekannt"

"""One way of writing a moment (bot/core/replies/moments.py), relative to the injected clock and
in the person's zone, with its words from responses/phrases.yaml."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.core.replies.moments import stamp, when_text
from bot.core.replies.render import Phrases
from bot.settings import PROJECT_ROOT
from bot.wiring import channel_formats

PHRASES = Phrases(PROJECT_ROOT / "responses", channel_formats())
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)  # Monday


def say(key: str, **values) -> str:
    return PHRASES(key, "text", **values)


@pytest.mark.parametrize("moment, tz, text", [
    (NOW + timedelta(minutes=5), "UTC", "today at 14:05"),
    (NOW + timedelta(hours=19), "UTC", "tomorrow at 09:00"),
    (NOW - timedelta(hours=15), "UTC", "yesterday at 23:00"),
    (NOW + timedelta(days=7), "UTC", "on Mon 9 Mar at 14:00"),
    (NOW + timedelta(days=300), "UTC", "on Sun 27 Dec at 14:00"),
    (NOW + timedelta(days=400), "UTC", "on Tue 6 Apr 2027 at 14:00"),  # another year: said
    # In the person's zone: 23:30 UTC on Monday is already Tuesday in Tokyo.
    (NOW + timedelta(hours=9, minutes=30), "Asia/Tokyo", "tomorrow at 08:30"),
    (NOW + timedelta(hours=9, minutes=30), "America/New_York", "today at 18:30"),
])
def test_when_text(moment, tz, text):
    assert when_text(moment, NOW, ZoneInfo(tz), say) == text


def test_relative_to_the_clock_given_not_the_machines():
    sandbox_now = NOW + timedelta(days=30)  # a clock moved forward a month
    assert when_text(sandbox_now + timedelta(hours=1), sandbox_now, ZoneInfo("UTC"), say) == "today at 15:00"


def test_a_stamp_on_its_own():
    assert stamp(NOW, ZoneInfo("Europe/London")) == "Mon 2 Mar 14:00"
    assert stamp(NOW, ZoneInfo("Asia/Tokyo")) == "Mon 2 Mar 23:00"

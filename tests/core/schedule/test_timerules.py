"""Calendar rules (bot/core/schedule/timerules.py): business hours, snooze targets, digest days, DST.

Pure functions of an explicit `now`: every test states the instant in UTC and what it is in
the zone under test, and nothing sleeps. America/New_York in 2026: clocks spring forward on
Sunday 8 March (02:00 EST -> 03:00 EDT, 07:00 UTC) and fall back on Sunday 1 November
(02:00 EDT -> 01:00 EST, 06:00 UTC).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from bot.core.schedule.timerules import (BusinessHours, RuleError, digest_day, local_datetime, parse_clock, parse_days,
                                tomorrow_morning, zone)
from bot.settings import Settings, SettingsError

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
OFFICE = BusinessHours.parse("09:00-17:30 Mon-Fri")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- parsing -----------------------------------------------------------------------------------

def test_business_hours_parse_window_and_days():
    assert OFFICE == BusinessHours(time(9, 0), time(17, 30), WEEKDAYS)
    assert BusinessHours.parse("9:00-17:00") == BusinessHours(time(9), time(17), EVERY_DAY)  # no days: every day
    assert BusinessHours.parse(" 08:00 - 12:00  Mon,Wed,Fri ").days == frozenset({0, 2, 4})
    assert BusinessHours.parse("10:00-16:00 Sat-Sun").days == frozenset({5, 6})


@pytest.mark.parametrize("text, days", [
    ("Mon-Fri", {0, 1, 2, 3, 4}), ("Mon-Sun", set(range(7))), ("Mon,Wed,Fri", {0, 2, 4}), ("Sat-Sun", {5, 6}),
    ("Fri-Mon", {4, 5, 6, 0}), ("monday-friday", {0, 1, 2, 3, 4}), ("Tue", {1}), ("sun, mon", {6, 0}),
])
def test_parse_days(text, days):
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize("text", ["", ",", "Funday", "Mon-Xyz", "M-F"])
def test_parse_days_errors(text):
    with pytest.raises(RuleError, match="day"):
        parse_days(text)


@pytest.mark.parametrize("text", ["", "9am", "24:00", "12:60", "1200", "9:5", "-1:00"])
def test_parse_clock_errors(text):
    with pytest.raises(RuleError, match="09:00"):
        parse_clock(text)


def test_parse_clock():
    assert parse_clock("9:05") == time(9, 5)
    assert parse_clock(" 23:59 ") == time(23, 59)
    assert parse_clock("00:00") == time(0, 0)


@pytest.mark.parametrize("text", ["", "9-5", "09:00", "nine to five", "09:00-17:00 Funday", "24:00-25:00",
                                  "09:60-10:00", "17:00-09:00", "09:00-09:00"])
def test_business_hours_parse_errors(text):
    with pytest.raises(RuleError):
        BusinessHours.parse(text)


def test_rule_errors_say_how_to_write_it():
    with pytest.raises(RuleError, match="09:00-17:30 Mon-Fri"):
        BusinessHours.parse("9 to 5")
    with pytest.raises(RuleError, match="end after it starts"):
        BusinessHours.parse("17:00-09:00")


@pytest.mark.parametrize("name, value, how", [
    ("DIGEST_TIME", "9am", "09:00"), ("DIGEST_TIME", "25:00", "09:00"),
    ("BUSINESS_HOURS", "nine to five", "09:00-17:30 Mon-Fri"), ("BUSINESS_HOURS", "9-5", "09:00-17:30 Mon-Fri"),
    ("BUSINESS_HOURS", "17:00-09:00 Mon-Fri", "end after it starts"),
    ("BUSINESS_HOURS", "09:00-17:00 Funday", "day names"), ("BUSINESS_HOURS", "09:00-24:00", "24-hour time"),
    ("DIGEST_TZ", "Mars/Olympus_Mons", "IANA zone"), ("DIGEST_TZ", "../../etc/passwd", "IANA zone"),
    ("DIGEST_DAYS", "Funday", "day names"), ("DIGEST_DAYS", ",", "at least one day"),
    ("FOLLOWUP_AFTER", "4 hours", "4h"), ("SCHEDULER_INTERVAL", "often", "4h"),
    ("DIGEST_ALL_CLEAR", "maybe", "on or off"),
    ("SCHEDULER", "sometimes", "on or off"), ("FOLLOWUP_MAX", "0", "at least 1"),
])
def test_bad_time_settings_stop_start_up_naming_the_variable_and_the_value(name, value, how):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}={value!r}: ")  # the whole value, as the operator wrote it
    assert how in message


def test_time_settings_defaults_are_parsed_once_into_typed_values():
    s = Settings.from_env({})
    assert (s.followup_after, s.business_hours, s.digest_time, s.digest_tz, s.digest_days) == \
        (timedelta(hours=4), None, time(9, 0), "UTC", WEEKDAYS)
    assert (s.digest_all_clear, s.scheduler, s.scheduler_interval, s.followup_max) == (True, True, 5.0, 3)
    # The dataclass's own defaults are the environment's defaults, parsed.
    assert (Settings().business_hours, Settings().digest_time, Settings().digest_tz, Settings().digest_days) == \
        (None, time(9, 0), "UTC", WEEKDAYS)


def test_time_settings_values():
    s = Settings.from_env({"FOLLOWUP_AFTER": "3s", "SCHEDULER_INTERVAL": "1s", "SCHEDULER": "off",
                           "DIGEST_ALL_CLEAR": "off", "BUSINESS_HOURS": "08:00-16:00 Mon-Thu",
                           "DIGEST_TZ": "Europe/London", "DIGEST_TIME": "07:45", "DIGEST_DAYS": "Mon,Thu"})
    assert s.followup_after == timedelta(seconds=3) and s.scheduler_interval == 1.0 and not s.scheduler
    assert not s.digest_all_clear and s.digest_tz == "Europe/London" and s.digest_time == time(7, 45)
    assert s.business_hours == BusinessHours(time(8, 0), time(16, 0), frozenset({0, 1, 2, 3}))
    assert s.digest_days == frozenset({0, 3})


def test_empty_time_settings_mean_their_defaults():
    s = Settings.from_env({"BUSINESS_HOURS": "", "DIGEST_TIME": "", "DIGEST_TZ": "", "DIGEST_DAYS": ""})
    assert (s.business_hours, s.digest_time, s.digest_tz, s.digest_days) == (None, time(9, 0), "UTC", WEEKDAYS)


def test_zone_falls_back_for_unknown_or_empty_names():
    assert zone("America/New_York") == NY
    assert zone("Nowhere/Special") == ZoneInfo("UTC")
    assert zone(None, "Asia/Tokyo") == TOKYO
    assert zone("", "") == ZoneInfo("UTC")
    assert zone("../../etc/passwd") == ZoneInfo("UTC")
    assert zone("Not/AZone", "Also/NotOne") == ZoneInfo("UTC")


# -- business hours ------------------------------------------------------------------------------

def test_allows_inside_the_window_only():
    monday_9 = utc(2026, 3, 2, 14, 0)                  # Mon 09:00 EST
    assert OFFICE.allows(monday_9, NY)
    assert not OFFICE.allows(monday_9 - timedelta(minutes=1), NY)     # 08:59
    assert OFFICE.allows(utc(2026, 3, 2, 22, 29), NY)                  # 17:29
    assert not OFFICE.allows(utc(2026, 3, 2, 22, 30), NY)              # 17:30: the end is exclusive
    assert not OFFICE.allows(utc(2026, 2, 28, 16, 0), NY)              # Saturday 11:00
    # The same instant is Monday 23:00 in Tokyo: outside there.
    assert not OFFICE.allows(monday_9, TOKYO)


def test_next_open_inside_the_window_is_now():
    moment = utc(2026, 3, 2, 15, 0)   # Mon 10:00 EST
    assert OFFICE.next_open(moment, NY) == moment


def test_next_open_before_opening_is_this_morning():
    assert OFFICE.next_open(utc(2026, 3, 2, 12, 0), NY) == utc(2026, 3, 2, 14, 0)   # Mon 07:00 -> 09:00


def test_next_open_in_the_evening_is_tomorrow_morning():
    assert OFFICE.next_open(utc(2026, 3, 2, 23, 0), NY) == utc(2026, 3, 3, 14, 0)   # Mon 18:00 -> Tue 09:00
    # Mon 22:00 in New York is already Tuesday in UTC: the local date decides.
    assert OFFICE.next_open(utc(2026, 3, 3, 3, 0), NY) == utc(2026, 3, 3, 14, 0)
    # Exactly at closing time.
    assert OFFICE.next_open(utc(2026, 3, 2, 22, 30), NY) == utc(2026, 3, 3, 14, 0)


def test_next_open_over_the_weekend_is_monday():
    assert OFFICE.next_open(utc(2026, 2, 27, 23, 0), NY) == utc(2026, 3, 2, 14, 0)  # Fri 18:00 -> Mon 09:00
    assert OFFICE.next_open(utc(2026, 2, 28, 16, 0), NY) == utc(2026, 3, 2, 14, 0)  # Sat
    assert OFFICE.next_open(utc(2026, 3, 1, 16, 0), NY) == utc(2026, 3, 2, 14, 0)   # Sun


def test_next_open_over_the_dst_weekends_follows_the_local_clock():
    # Fri 6 March 18:00 EST -> Mon 9 March 09:00 EDT, which is 13:00 UTC, not 14:00.
    assert OFFICE.next_open(utc(2026, 3, 6, 23, 0), NY) == utc(2026, 3, 9, 13, 0)
    # Fri 30 October 18:00 EDT -> Mon 2 November 09:00 EST = 14:00 UTC.
    assert OFFICE.next_open(utc(2026, 10, 30, 22, 0), NY) == utc(2026, 11, 2, 14, 0)


def test_next_open_with_custom_days():
    weekend = BusinessHours.parse("10:00-16:00 Sat-Sun")
    assert weekend.next_open(utc(2026, 3, 2, 15, 0), NY) == utc(2026, 3, 7, 15, 0)    # Mon -> Sat 10:00 EST
    mwf = BusinessHours.parse("08:00-12:00 Mon,Wed,Fri")
    assert mwf.next_open(utc(2026, 3, 2, 18, 0), NY) == utc(2026, 3, 4, 13, 0)       # Mon 13:00 -> Wed 08:00
    assert mwf.next_open(utc(2026, 3, 6, 18, 0), NY) == utc(2026, 3, 9, 12, 0)       # Fri 13:00 -> Mon 08:00 EDT
    one_day = BusinessHours.parse("09:00-10:00 Tue")
    assert one_day.next_open(utc(2026, 3, 3, 15, 30), NY) == utc(2026, 3, 10, 13, 0)  # a week later (EDT)


def test_next_open_in_another_zone():
    # Mon 14:00 UTC is Mon 23:00 in Tokyo -> Tue 09:00 JST = Tue 00:00 UTC.
    assert OFFICE.next_open(utc(2026, 3, 2, 14, 0), TOKYO) == utc(2026, 3, 3, 0, 0)


ZONES = ["America/New_York", "Europe/London", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney", "UTC",
         "America/Sao_Paulo", "Pacific/Chatham"]
WINDOWS = ["09:00-17:30 Mon-Fri", "08:00-12:00 Mon,Wed,Fri", "10:00-16:00 Sat-Sun", "00:00-23:59", "13:15-13:45 Thu"]


@hsettings(max_examples=300, deadline=None)
@given(moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
       zone_name=st.sampled_from(ZONES), window=st.sampled_from(WINDOWS))
def test_next_open_is_open_and_nothing_earlier_is(moment, zone_name, window):
    tz, hours = ZoneInfo(zone_name), BusinessHours.parse(window)
    opens = hours.next_open(moment, tz)
    assert opens >= moment and opens - moment <= timedelta(days=8)
    assert hours.allows(opens, tz)
    if opens > moment:
        # Nothing between `moment` and the answer is open (checked a minute before it opens).
        assert not hours.allows(opens - timedelta(minutes=1), tz)


# -- snooze until tomorrow morning --------------------------------------------------------------------

def test_tomorrow_morning_without_business_hours_is_9_tomorrow():
    assert tomorrow_morning(utc(2026, 3, 2, 15, 0), NY, None) == utc(2026, 3, 3, 14, 0)   # Mon -> Tue 09:00
    # Friday without business hours: Saturday is a morning too.
    assert tomorrow_morning(utc(2026, 2, 27, 15, 0), NY, None) == utc(2026, 2, 28, 14, 0)


def test_tomorrow_morning_skips_closed_days_and_uses_the_opening_time():
    assert tomorrow_morning(utc(2026, 2, 27, 15, 0), NY, OFFICE) == utc(2026, 3, 2, 14, 0)     # Fri -> Mon
    assert tomorrow_morning(utc(2026, 2, 28, 15, 0), NY, OFFICE) == utc(2026, 3, 2, 14, 0)     # Sat -> Mon
    early = BusinessHours.parse("07:30-15:00 Mon-Fri")
    assert tomorrow_morning(utc(2026, 3, 2, 15, 0), NY, early) == utc(2026, 3, 3, 12, 30)      # Tue 07:30 EST


def test_tomorrow_morning_is_the_users_tomorrow():
    # Mon 23:30 in New York is Tue 04:30 UTC: tomorrow is still Tuesday there.
    assert tomorrow_morning(utc(2026, 3, 3, 4, 30), NY, None) == utc(2026, 3, 3, 14, 0)
    # The same instant is Tue 13:30 in Tokyo: tomorrow is Wednesday 09:00 JST.
    assert tomorrow_morning(utc(2026, 3, 3, 4, 30), TOKYO, None) == utc(2026, 3, 4, 0, 0)


def test_tomorrow_morning_across_dst():
    # Sat 7 March 12:00 EST -> Sun 8 March 09:00 EDT (13:00 UTC); with office hours Mon 9 March 13:00 UTC.
    assert tomorrow_morning(utc(2026, 3, 7, 17, 0), NY, None) == utc(2026, 3, 8, 13, 0)
    assert tomorrow_morning(utc(2026, 3, 7, 17, 0), NY, OFFICE) == utc(2026, 3, 9, 13, 0)
    assert tomorrow_morning(utc(2026, 10, 31, 16, 0), NY, None) == utc(2026, 11, 1, 14, 0)   # 09:00 EST


# -- digest days -------------------------------------------------------------------------------------

NINE = time(9, 0)


def test_digest_day_on_a_weekday_from_the_digest_time():
    assert digest_day(utc(2026, 3, 2, 13, 59), NINE, NY, WEEKDAYS) is None           # Mon 08:59 EST
    assert digest_day(utc(2026, 3, 2, 14, 0), NINE, NY, WEEKDAYS) == "2026-03-02"    # Mon 09:00
    assert digest_day(utc(2026, 3, 2, 20, 0), NINE, NY, WEEKDAYS) == "2026-03-02"
    # Mon 23:59 EST is Tuesday in UTC but still Monday's digest in New York.
    assert digest_day(utc(2026, 3, 3, 4, 59), NINE, NY, WEEKDAYS) == "2026-03-02"
    assert digest_day(utc(2026, 3, 3, 5, 0), NINE, NY, WEEKDAYS) is None              # Tue 00:00 EST


def test_digest_day_not_at_weekends_by_default():
    for moment in (utc(2026, 2, 28, 15, 0), utc(2026, 3, 1, 23, 0)):   # Sat, Sun after 09:00
        assert digest_day(moment, NINE, NY, parse_days("Mon-Fri")) is None
    assert digest_day(utc(2026, 2, 28, 15, 0), NINE, NY, parse_days("Sat-Sun")) == "2026-02-28"
    assert digest_day(utc(2026, 3, 2, 15, 0), NINE, NY, parse_days("Sat-Sun")) is None


def test_digest_day_in_the_digest_zone_not_utc():
    # 09:00 in Tokyo is 00:00 UTC: Tuesday 00:30 UTC is Tuesday 09:30 JST.
    assert digest_day(utc(2026, 3, 3, 0, 30), NINE, TOKYO, WEEKDAYS) == "2026-03-03"
    # Sunday 23:30 UTC is Monday 08:30 JST: not yet.
    assert digest_day(utc(2026, 3, 1, 23, 30), NINE, TOKYO, WEEKDAYS) is None


def test_digest_time_follows_the_local_clock_across_dst():
    # 09:00 on the fall-back Sunday is 14:00 UTC; the day before it was 13:00 UTC.
    assert digest_day(utc(2026, 10, 31, 13, 0), NINE, NY, EVERY_DAY) == "2026-10-31"
    assert digest_day(utc(2026, 11, 1, 13, 30), NINE, NY, EVERY_DAY) is None
    assert digest_day(utc(2026, 11, 1, 14, 0), NINE, NY, EVERY_DAY) == "2026-11-01"
    # And on the spring-forward Sunday it is 13:00 UTC (the day before 14:00).
    assert digest_day(utc(2026, 3, 7, 13, 59), NINE, NY, EVERY_DAY) is None
    assert digest_day(utc(2026, 3, 8, 13, 0), NINE, NY, EVERY_DAY) == "2026-03-08"


def test_spring_forward_a_digest_time_inside_the_skipped_hour_still_happens_that_day():
    at = time(2, 30)   # 02:30 does not exist in New York on 8 March 2026
    jump = utc(2026, 3, 8, 7, 0)   # 02:00 EST == 03:00 EDT
    assert digest_day(jump - timedelta(minutes=1), at, NY, EVERY_DAY) is None     # 01:59 EST
    # Due at the latest half an hour after the jump (03:30 EDT, the same elapsed time as 02:30 EST)...
    assert digest_day(jump + timedelta(minutes=30), at, NY, EVERY_DAY) == "2026-03-08"
    # ...and for the rest of that day, as the same day (one claim per day).
    assert digest_day(utc(2026, 3, 9, 3, 59), at, NY, EVERY_DAY) == "2026-03-08"    # 23:59 EDT
    # The next day 02:30 exists again (EDT).
    assert digest_day(utc(2026, 3, 9, 6, 29), at, NY, EVERY_DAY) is None
    assert digest_day(utc(2026, 3, 9, 6, 30), at, NY, EVERY_DAY) == "2026-03-09"


def test_local_datetime_of_a_skipped_time_is_after_the_jump_on_that_day():
    moment = local_datetime(date(2026, 3, 8), time(2, 30), NY)
    assert moment.astimezone(NY).date() == date(2026, 3, 8)
    assert utc(2026, 3, 8, 7, 0) <= moment <= utc(2026, 3, 8, 7, 30)


def test_local_datetime_of_a_skipped_time_is_just_after_the_jump():
    jump = utc(2026, 3, 8, 7, 0)
    assert local_datetime(date(2026, 3, 8), time(2, 30), NY) == jump
    night = BusinessHours.parse("02:30-05:00")
    opens = night.next_open(jump - timedelta(minutes=30), NY)   # 01:30 EST
    assert night.allows(jump, NY)   # 03:00 EDT is inside 02:30-05:00...
    assert opens == jump            # ...so that is when the window opens


def test_fall_back_a_repeated_hour_is_the_same_digest_day():
    at = time(1, 30)   # 01:30 happens twice in New York on 1 November 2026
    assert digest_day(utc(2026, 11, 1, 5, 29), at, NY, EVERY_DAY) is None            # 01:29 EDT
    assert digest_day(utc(2026, 11, 1, 5, 30), at, NY, EVERY_DAY) == "2026-11-01"    # first 01:30 (EDT)
    assert digest_day(utc(2026, 11, 1, 6, 30), at, NY, EVERY_DAY) == "2026-11-01"    # second 01:30 (EST)
    # The first occurrence is the one that counts.
    # (compared in UTC: PEP 495 makes == across zones False for a wall time inside the fold)
    assert local_datetime(date(2026, 11, 1), at, NY).astimezone(UTC) == utc(2026, 11, 1, 5, 30)

from datetime import UTC, date, datetime

import pytest

from newsletter.days import day_window, parse_day


def test_a_day_is_midnight_to_midnight_in_the_report_zone():
    since, until = day_window(date(2026, 1, 29))
    assert since.astimezone(UTC) == datetime(2026, 1, 28, 16, tzinfo=UTC)
    assert until.astimezone(UTC) == datetime(2026, 1, 29, 16, tzinfo=UTC)


def test_another_zone(settings):
    settings.REPORT_TIME_ZONE = "America/New_York"
    since, until = day_window(date(2026, 3, 8))  # the day clocks spring forward: 23 hours
    assert since.astimezone(UTC) == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert (until.astimezone(UTC) - since.astimezone(UTC)).total_seconds() == 23 * 3600


@pytest.mark.parametrize("text", ["", "2026-1-9x", "29/01/2026", "2026-02-30"])
def test_parse_day_refuses_what_is_not_a_day(text):
    with pytest.raises(ValueError, match="expected a date as YYYY-MM-DD"):
        parse_day(text)


def test_parse_day():
    assert parse_day(" 2026-01-29 ") == date(2026, 1, 29)

"""What "day D" means: [D 00:00, D+1 00:00) in REPORT_TIME_ZONE, and parsing it from input."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


def report_zone() -> ZoneInfo:
    return ZoneInfo(settings.REPORT_TIME_ZONE)


def parse_day(text: str) -> date:
    """A calendar day written YYYY-MM-DD; ValueError with a message fit for the user otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def day_window(day: date) -> tuple[datetime, datetime]:
    zone = report_zone()
    since = datetime.combine(day, time.min, tzinfo=zone)
    until = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return since, until


def today() -> date:
    return timezone.now().astimezone(report_zone()).date()


def check_not_future(day: date) -> None:
    if day > today():
        raise ValueError(f"{day.isoformat()} has not begun yet in {settings.REPORT_TIME_ZONE}")

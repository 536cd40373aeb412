"""The activity strip of a repository's day: the numbers, and a 7-day bar chart drawn with tables.

Tables with bgcolor and fixed heights, not CSS or images: that is what shows the same in Gmail,
Outlook and a browser.
"""

from __future__ import annotations

from django.utils.translation import pgettext_lazy

from newsletter.languages import rendered_in
from newsletter.models import ReportSection

BAR_HEIGHT = 32  # pixels for the busiest day of the week shown
COMMITS = pgettext_lazy("activity strip", "commits")
ADDITIONS = pgettext_lazy("activity strip", "lines added")
DELETIONS = pgettext_lazy("activity strip", "lines removed")
AUTHORS = pgettext_lazy("activity strip", "authors")
ISSUES = pgettext_lazy("activity strip", "new issues")
TREND = pgettext_lazy("activity strip", "commits, last 7 days")


def strip(section: ReportSection, language: str) -> dict:
    stats = section.stats or {}
    with rendered_in(language):
        numbers = [
            (str(COMMITS), stats.get("commits", 0)),
            (str(ADDITIONS), f"+{stats.get('additions', 0)}"),
            (str(DELETIONS), f"−{stats.get('deletions', 0)}"),
            (str(AUTHORS), stats.get("authors", 0)),
            (str(ISSUES), stats.get("issues_opened", 0)),
        ]
        trend_label = str(TREND)
    trend = stats.get("trend") or []
    peak = max((day["commits"] for day in trend), default=0) or 1
    bars = [
        {
            "day": day["day"],
            "commits": day["commits"],
            "height": max(1, round(BAR_HEIGHT * day["commits"] / peak)) if day["commits"] else 1,
            "color": "#0b3d91" if n == len(trend) - 1 else "#8fb3ff",
        }
        for n, day in enumerate(trend)
    ]
    return {"numbers": numbers, "bars": bars, "trend_label": trend_label, "bar_area": BAR_HEIGHT}

"""The activity strip of a repository's day: the numbers, and a 7-day bar chart drawn with tables.

Tables with bgcolor and fixed heights, not CSS or images: that is what shows the same in Gmail,
Outlook and a browser.
"""

from __future__ import annotations

from newsletter.models import ReportSection

BAR_HEIGHT = 32  # pixels for the busiest day of the week shown
LABELS = {
    "zh": {"commits": "提交", "additions": "新增行", "deletions": "删除行", "authors": "作者", "issues": "新 Issue",
           "trend": "近 7 天提交"},
    "en": {"commits": "commits", "additions": "lines added", "deletions": "lines removed", "authors": "authors",
           "issues": "new issues", "trend": "commits, last 7 days"},
}  # fmt: skip


def strip(section: ReportSection, language: str) -> dict:
    stats = section.stats or {}
    labels = LABELS[language]
    numbers = [
        (labels["commits"], stats.get("commits", 0)),
        (labels["additions"], f"+{stats.get('additions', 0)}"),
        (labels["deletions"], f"−{stats.get('deletions', 0)}"),
        (labels["authors"], stats.get("authors", 0)),
        (labels["issues"], stats.get("issues_opened", 0)),
    ]
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
    return {"numbers": numbers, "bars": bars, "trend_label": labels["trend"], "bar_area": BAR_HEIGHT}

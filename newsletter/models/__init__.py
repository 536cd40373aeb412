from .collected import CollectRun, Commit, Issue, Repository
from .operations import DailyRun, Heartbeat
from .reports import (
    CommitAnalysis,
    ItemSnippet,
    Language,
    Report,
    ReportItem,
    ReportSection,
    ReportStatement,
    TableRow,
)
from .subscribers import Delivery, ReportVariant, Subscriber, normalize_email

__all__ = [
    "CollectRun",
    "Commit",
    "CommitAnalysis",
    "DailyRun",
    "Delivery",
    "Heartbeat",
    "Issue",
    "ItemSnippet",
    "Language",
    "Report",
    "ReportItem",
    "ReportSection",
    "ReportStatement",
    "ReportVariant",
    "Repository",
    "Subscriber",
    "TableRow",
    "normalize_email",
]

from .collected import CollectRun, Commit, Issue, Repository
from .operations import DailyRun, Heartbeat
from .reports import CommitAnalysis, Language, Report, ReportItem, ReportSection, TableRow
from .subscribers import Delivery, ReportVariant, Subscriber, normalize_email

__all__ = [
    "CollectRun",
    "Commit",
    "CommitAnalysis",
    "DailyRun",
    "Delivery",
    "Heartbeat",
    "Issue",
    "Language",
    "Report",
    "ReportItem",
    "ReportSection",
    "ReportVariant",
    "Repository",
    "Subscriber",
    "TableRow",
    "normalize_email",
]

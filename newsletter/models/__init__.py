from .collected import CollectRun, Commit, Issue, Repository
from .reports import CommitAnalysis, Language, Report, ReportItem, ReportSection
from .subscribers import Delivery, ReportVariant, Subscriber, normalize_email

__all__ = [
    "CollectRun",
    "Commit",
    "CommitAnalysis",
    "Delivery",
    "Issue",
    "Language",
    "Report",
    "ReportItem",
    "ReportSection",
    "ReportVariant",
    "Repository",
    "Subscriber",
    "normalize_email",
]

from .collected import CollectRun, Commit, Issue, Repository
from .reports import CommitAnalysis, Language, Report, ReportItem, ReportSection

__all__ = [
    "CollectRun",
    "Commit",
    "CommitAnalysis",
    "Issue",
    "Language",
    "Report",
    "ReportItem",
    "ReportSection",
    "Repository",
]

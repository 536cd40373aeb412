from .collected import CollectRun, Commit, Issue, Repository

__all__ = ["CollectRun", "Commit", "Issue", "Repository"]

"""Build small replay folders in the recorded format, for cases the bundled days don't have."""

import json
from datetime import datetime
from pathlib import Path

API = "https://api.github.com"


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def commit_item(full_name: str, sha: str, committed: datetime, title: str) -> dict:
    return {
        "sha": sha,
        "commit": {
            "author": {"name": "Ada Lovelace", "email": "ada@example.com", "date": _z(committed)},
            "committer": {"name": "GitHub", "email": "noreply@github.com", "date": _z(committed)},
            "message": title,
        },
        "url": f"{API}/repos/{full_name}/commits/{sha}",
        "html_url": f"https://github.com/{full_name}/commit/{sha}",
        "author": {"login": "ada", "id": 1, "url": f"{API}/users/ada"},
        "committer": None,
        "parents": [],
    }


def write_repo(root: Path, full_name: str, commits: list[tuple[str, datetime, str]], issues: list[dict] = ()) -> Path:
    """commits: (sha, committed_at UTC, message); each gets a detail with one small file."""
    directory = root / full_name
    (directory / "commits").mkdir(parents=True, exist_ok=True)
    items = [commit_item(full_name, sha, when, message) for sha, when, message in commits]
    items.sort(key=lambda item: item["commit"]["committer"]["date"], reverse=True)
    (directory / "commits.json").write_text(json.dumps(items))
    for item in items:
        detail = dict(item)
        detail["stats"] = {"total": 3, "additions": 2, "deletions": 1}
        detail["files"] = [
            {
                "filename": "src/app.py",
                "status": "modified",
                "additions": 2,
                "deletions": 1,
                "changes": 3,
                "patch": "@@ -1,2 +1,3 @@\n-old = 1\n+new = 2\n+more = 3\n keep = 0",
            }
        ]
        (directory / "commits" / f"{item['sha']}.json").write_text(json.dumps(detail))
    (directory / "issues.json").write_text(json.dumps(list(issues)))
    return directory


def sha_for(number: int) -> str:
    return f"{number:040x}"

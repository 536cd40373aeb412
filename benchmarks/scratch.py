"""What every benchmark does first: a scratch folder, a fresh database unless DATABASE_URL is set, Django."""

import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_in_scratch(prefix: str) -> Path:
    """Set up Django on a new SQLite file in a scratch folder (or on DATABASE_URL), migrated."""
    sys.path.insert(0, str(ROOT))
    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch / 'bench.sqlite3'}")
    os.environ["DJANGO_SETTINGS_MODULE"] = "ai_infra_daily.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return scratch


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server a benchmark starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collect_bundled_days() -> list:
    """Collect every recorded day of data/github/ through a replay server; returns the days, in order."""
    from datetime import date
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command

    from replay.recorder import recorded_days
    from replay.server import ReplayServer

    data = ROOT / "data" / "github"
    days = sorted(date.fromisoformat(d) for d in recorded_days(data))
    with ReplayServer(data) as replay:
        settings.GITHUB_API_URL = replay.url
        for day in days:
            call_command("collect", "--date", day.isoformat(), stdout=StringIO())
    return days

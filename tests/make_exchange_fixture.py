"""Write tests/data/exchanges/2026-01-29-zh.jsonl.gz: a day recorded against the fake Messages API.

    python -m tests.make_exchange_fixture

The same command an operator runs against the real API (`manage.py record_exchanges`), here with
the fake's default answers and two highlights per repository, so the fixture stays small. Rerun
it when the prompts or the selection change what a build asks; test_exchanges replays it.
"""

import gzip
import os
import sys
import tempfile
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "exchanges" / "2026-01-29-zh.jsonl.gz"
HIGHLIGHTS = 2


def main() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scratch import django_in_scratch

    os.environ["GITHUB_CACHE_DIR"] = "off"
    django_in_scratch("exchange-fixture-")
    from django.conf import settings
    from django.core.management import call_command

    from replay.server import ReplayServer
    from tests.fake_anthropic import FakeAnthropic

    with ReplayServer(ROOT / "data" / "github") as replay:
        settings.GITHUB_API_URL = replay.url
        call_command("collect", "--date", "2026-01-29", stdout=StringIO())
    fake = FakeAnthropic().start()
    os.environ["ANTHROPIC_BASE_URL"] = fake.url
    settings.ANTHROPIC_API_KEY = "sk-fixture"
    settings.HIGHLIGHTS_PER_REPO = HIGHLIGHTS
    out = Path(tempfile.mkdtemp(prefix="exchanges-"))
    call_command("record_exchanges", "--date", "2026-01-29", "--language", "zh", "--out", str(out))
    fake.stop()
    data = (out / "2026-01-29-zh.jsonl").read_bytes()
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    FIXTURE.write_bytes(gzip.compress(data, mtime=0))
    print(f"{FIXTURE.relative_to(ROOT)}: {len(data.splitlines())} exchanges, {FIXTURE.stat().st_size} bytes")


if __name__ == "__main__":
    main()

import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsletter.days import day_window
from newsletter.management.arguments import day_option, progress_bar, repository_options
from sources import github
from sources.records import SourceError


def check_writable(out: Path) -> None:
    """Before a single request is spent: can we create files in `out`? One line if not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise CommandError(f"--out: cannot write into {out}: {error.strerror or error}") from None


class Command(BaseCommand):
    help = "Save the GitHub API answers for one day in the replay format, to replay it offline later."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--out", required=True, type=Path, metavar="DIR", help="replay folder (created or merged into)"
        )
        parser.add_argument("--repo", action="append", metavar="OWNER/NAME", help="default: all enabled")

    def handle(self, *args, **options):
        # The recorder is a development tool; the command loads it only when it runs.
        from replay.recorder import Recorder

        day = day_option(options["date"])
        repositories = repository_options(options["repo"])
        # The replay format is GitHub's API: a repository on another host has nothing to record.
        elsewhere = [r.full_name for r in repositories if r.host != github.HOST]
        if elsewhere and options["repo"]:
            raise CommandError(f"record_github records {github.HOST} repositories only: {', '.join(elsewhere)}")
        repositories = [r for r in repositories if r.host == github.HOST]
        out: Path = options["out"]
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out: {out} exists and is not a folder")
        check_writable(out)
        recorder = Recorder(out, base_url=settings.GITHUB_API_URL)
        source = github.from_settings(settings, observer=recorder.observe)
        since, until = day_window(day)
        recorded, failed = [], []
        for repository in repositories:
            try:
                with progress_bar(repository.full_name, self.stdout) as progress:
                    snapshot = source.fetch(repository.full_name, since, until, progress=progress)
            except SourceError as error:
                recorder.discard(repository.full_name)
                failed.append(repository.full_name)
                self.stderr.write(f"{repository.full_name:<28} FAILED: {error}")
                continue
            try:
                folder = recorder.write(repository.full_name)
            except OSError as error:
                raise CommandError(f"--out: cannot write into {out}: {error.strerror or error}") from None
            recorded.append(repository.full_name)
            self.stdout.write(
                f"{repository.full_name:<28} {day}  {len(snapshot.commits):>4} commits  "
                f"{len(snapshot.issues):>4} issues  {snapshot.requests} requests -> {folder}"
            )
        if recorded:
            recorder.note_window(day.isoformat(), settings.REPORT_TIME_ZONE, since, until, recorded)
        if failed:
            raise CommandError(f"{len(failed)} of {len(repositories)} repositories failed: {', '.join(failed)}")

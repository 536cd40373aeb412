from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Max, Min, Sum
from django.utils.timezone import localtime

from newsletter.build import build_report
from newsletter.collect import collect_day, github_source
from newsletter.days import parse_day
from newsletter.management.arguments import progress_bar
from newsletter.models import Report, Repository
from newsletter.render.html import export_html
from newsletter.render.markdown import render_markdown
from sources.recorder import recorded_days
from sources.replay import ReplayServer

BUNDLED = settings.BASE_DIR / "data" / "github"


class Command(BaseCommand):
    help = "Run the pipeline offline on the bundled GitHub recordings: replay, collect, build and export reports."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, default=BUNDLED, metavar="DIR", help="a replay folder")
        parser.add_argument(
            "--out", type=Path, default=settings.BASE_DIR / "var" / "reports", metavar="DIR",
            help="where the built reports are written as Markdown and HTML",
        )  # fmt: skip

    def handle(self, *args, **options):
        data: Path = options["data"]
        days = [parse_day(day) for day in recorded_days(data)]
        if not days:
            raise CommandError(f"{data} has no recordings.json listing its days (see record_github)")
        repositories = [r for r in Repository.objects.enabled() if (data / r.full_name).is_dir()]
        with ReplayServer(data) as server:
            self.stdout.write(f"Replay server on {data} at {server.url}")
            source = github_source(base_url=server.url)
            for day in days:
                for repository in repositories:
                    with progress_bar(f"{day} {repository.full_name}", self.stdout) as progress:
                        run = collect_day(repository=repository, day=day, source=source, progress=progress)
                    if run.error:
                        raise CommandError(run.error)
                    self.stdout.write(
                        f"  collected {day} {repository.full_name:<26} {run.commits:>3} commits "
                        f"{run.issues:>3} issues in {run.requests} requests ({run.not_modified} answered 304)"
                    )
        self.stdout.write("\nReports (heuristic analyzer, offline):")
        exports: Path = options["out"]
        exports.mkdir(parents=True, exist_ok=True)
        for day in days:
            for language in ("zh", "en"):
                existing = Report.objects.filter(date=day, language=language).first()
                if existing and existing.is_locked:
                    report = existing  # approved or sent: the demo never rebuilds it
                else:
                    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
                markdown = exports / f"{day}.{language}.md"
                markdown.write_text(render_markdown(report), encoding="utf-8")
                (exports / f"{day}.{language}.html").write_text(export_html(report), encoding="utf-8")
                self.stdout.write(f"  {day} {language}: {report.status}, written to {markdown} (and .html)")
        self.stdout.write("\nStored:")
        for repository in Repository.objects.annotate(
            n_commits=Count("commits"),
            first=Min("commits__committed_at"),
            last=Max("commits__committed_at"),
            added=Sum("commits__additions"),
            removed=Sum("commits__deletions"),
        ):
            issues = repository.issues.count()
            span = "-"
            if repository.first:
                first, last = localtime(repository.first), localtime(repository.last)
                span = f"{first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}"
            self.stdout.write(
                f"  {repository.display_name:<11} {repository.n_commits:>3} commits (+{repository.added or 0} "
                f"-{repository.removed or 0} lines, {span} {settings.REPORT_TIME_ZONE})  {issues} issues/PRs"
            )

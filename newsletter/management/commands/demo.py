"""The whole pipeline, offline, on the bundled recordings: replay, collect, build, approve, send, publish."""

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from newsletter.build import build_report
from newsletter.collect import collect_day
from newsletter.days import parse_day
from newsletter.dispatch import dispatch_report
from newsletter.management.arguments import progress_bar
from newsletter.models import Report, Repository, Subscriber
from newsletter.render.html import export_html
from newsletter.render.markdown import render_markdown
from sources import github

BUNDLED = settings.BASE_DIR / "data" / "github"
EDITOR = ("demo", "demo-password", "editor@demo.example.com")
# Three readers with different choices: what each receives shows the personalization.
SUBSCRIBERS = [
    ("everything@demo.example.com", "zh", "html", []),
    ("vllm-only@demo.example.com", "zh", "markdown", ["vllm-project/vllm"]),
    ("sglang-flashinfer@demo.example.com", "en", "html", ["sgl-project/sglang", "flashinfer-ai/flashinfer"]),
]


class Command(BaseCommand):
    help = "Run the pipeline offline on the bundled GitHub recordings: collect, build, approve, send into outbox/."

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, default=BUNDLED, metavar="DIR", help="a replay folder")
        parser.add_argument(
            "--out", type=Path, default=settings.BASE_DIR / "var" / "reports", metavar="DIR",
            help="where the built reports are also written as Markdown and HTML",
        )  # fmt: skip

    def handle(self, *args, **options):
        # The replay tools are for development; the command loads them only when it runs.
        from replay.recorder import recorded_days

        data: Path = options["data"]
        days = [parse_day(day) for day in recorded_days(data)]
        if not days:
            raise CommandError(f"{data} has no recordings.json listing its days (see record_github)")
        self.collect(data, days)
        editor = self.editor()
        self.subscribers()
        self.stdout.write("\nReports (heuristic analyzer, offline):")
        exports: Path = options["out"]
        exports.mkdir(parents=True, exist_ok=True)
        for day in days:
            for language in ("zh", "en"):
                report = Report.objects.filter(date=day, language=language).first()
                if report is None or not report.is_locked:
                    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
                if report.status == Report.Status.DRAFT:
                    report.approve(by=editor)
                if report.status in (Report.Status.APPROVED, Report.Status.SENDING):
                    summary = dispatch_report(report)
                    self.stdout.write(f"  {day} {language}: sent ({summary})")
                else:
                    self.stdout.write(f"  {day} {language}: {report.status} already, not sent again")
                (exports / f"{day}.{language}.md").write_text(render_markdown(report), encoding="utf-8")
                (exports / f"{day}.{language}.html").write_text(export_html(report), encoding="utf-8")
        self.summary(days)

    def collect(self, data: Path, days) -> None:
        from replay.server import ReplayServer

        repositories = [
            r for r in Repository.objects.enabled() if r.host == github.HOST and (data / r.full_name).is_dir()
        ]
        with ReplayServer(data) as server:
            self.stdout.write(f"Replay server on {data} at {server.url}")
            source = github.from_settings(settings, base_url=server.url)
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

    def editor(self):
        username, password, email = EDITOR
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": email, "is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.save()
        user.groups.add(Group.objects.get(name="Editors"))
        return user

    def subscribers(self) -> None:
        for email, language, output, repositories in SUBSCRIBERS:
            person, _ = Subscriber.objects.get_or_create(
                email=email, defaults={"language": language, "format": output, "consent_text": "demo subscriber"}
            )
            if person.status != Subscriber.Status.ACTIVE:
                person.confirm()
            person.repositories.set(Repository.objects.filter(pk__in=[
                r.pk for r in Repository.objects.all() if r.full_name in repositories
            ]))  # fmt: skip

    def summary(self, days) -> None:
        site = settings.SITE_URL
        outbox = Path(settings.EMAIL_FILE_PATH)
        emails = sorted(outbox.glob("*.eml")) if outbox.is_dir() else []
        latest = max(days).isoformat()
        username, password, _ = EDITOR
        lines = [
            "",
            f"Emails: {len(emails)} .eml files in {outbox} (HTML ones also as .html, to open in a browser)",
            "Open:",
            f"  {site}/                     the latest issue and the subscribe form",
            f"  {site}/reports/             往期回顾 (the archive)",
            f"  {site}/reports/{latest}/  one issue ({site}/reports/{latest}.md for its Markdown)",
            f"  {site}/feed/                the Atom feed",
            f"  {site}/admin/               the editor's desk: user {username!r}, password {password!r}",
        ]
        self.stdout.write("\n".join(lines))

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from newsletter.analysis.exchanges import load
from newsletter.build import BuildError, build_report
from newsletter.management.arguments import choice_option, day_option
from newsletter.models import CollectRun


class Command(BaseCommand):
    help = (
        "Build a day's draft with Claude and record every exchange with the Messages API to "
        "DIR/<day>-<language>.jsonl (requests without key or headers, and the answers), for replay in tests."
    )

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--out", required=True, metavar="DIR")
        parser.add_argument("--language", default=None, metavar="zh|en", help="default: REPORT_LANGUAGE")
        parser.add_argument("--force", action="store_true", help="rebuild an existing draft (never an approved one)")

    def handle(self, *args, **options):
        day = day_option(options["date"])
        language = choice_option("--language", options["language"] or settings.REPORT_LANGUAGE, ("zh", "en"))
        if not settings.ANTHROPIC_API_KEY:
            raise CommandError("recording needs ANTHROPIC_API_KEY: it records what Claude answers")
        if not CollectRun.objects.filter(day=day, status=CollectRun.Status.SUCCEEDED).exists():
            raise CommandError(f"nothing collected for {day}: run `manage.py collect --date {day}` first")
        out = Path(options["out"])
        # Recording asks about every commit again (no per-commit cache), so the file holds the whole day.
        with override_settings(ANTHROPIC_RECORD_DIR=out):
            try:
                report = build_report(day=day, language=language, analyzer="anthropic", force=options["force"])
            except BuildError as error:
                raise CommandError(str(error)) from None
        path = out / f"{day.isoformat()}-{language}.jsonl"
        exchanges = load(path)
        self.stdout.write(
            f"{language} draft of {report.date} built with Claude; {len(exchanges)} exchanges recorded in {path} "
            f"(~${report.cost_usd:.4f})"
        )
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")

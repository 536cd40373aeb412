from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsletter.build import BuildError, build_report
from newsletter.management.arguments import choice_option, day_option, progress_bar
from newsletter.models import CollectRun


class Command(BaseCommand):
    help = "Analyze a collected day and store it as a draft report for the editor."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument(
            "--analyzer", default="auto", metavar="auto|anthropic|heuristic",
            help="auto: Claude when ANTHROPIC_API_KEY is set, else the offline heuristic",
        )  # fmt: skip
        parser.add_argument("--language", default=None, metavar="zh|en", help="default: REPORT_LANGUAGE")
        parser.add_argument("--force", action="store_true", help="rebuild an existing draft (never an approved one)")

    def handle(self, *args, **options):
        day = day_option(options["date"])
        analyzer = choice_option("--analyzer", options["analyzer"], ("auto", "anthropic", "heuristic"))
        language = choice_option("--language", options["language"] or settings.REPORT_LANGUAGE, ("zh", "en"))
        if not CollectRun.objects.filter(day=day, status=CollectRun.Status.SUCCEEDED).exists():
            raise CommandError(f"nothing collected for {day}: run `manage.py collect --date {day}` first")
        try:
            with progress_bar("model calls", self.stdout, unit="call") as progress:
                report = build_report(
                    day=day, language=language, analyzer=analyzer, force=options["force"], progress=progress
                )
        except BuildError as error:
            raise CommandError(str(error)) from None
        sections = list(report.sections.prefetch_related("items"))
        counts = {"highlight": 0, "listed": 0, "issue": 0}
        for section in sections:
            for item in section.items.all():
                counts[item.kind] += 1
        self.stdout.write(
            f"{report.language} draft of {report.date} built with {report.analyzer}: {len(sections)} repositories, "
            f"{counts['highlight']} highlighted commits, {counts['listed']} in the tables, {counts['issue']} issues"
        )
        if report.llm_calls:
            self.stdout.write(
                f"model calls {report.llm_calls}: {report.input_tokens} input tokens "
                f"({report.cache_read_tokens} from cache), {report.output_tokens} output, ~${report.cost_usd:.4f}"
            )
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from newsletter.dispatch import DispatchError, dispatch_report, next_retry_at
from newsletter.management.arguments import choice_option, day_option
from newsletter.models import Report


class Command(BaseCommand):
    help = "Send an approved report of a day to its subscribers (resumes one that is already sending)."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--language", default=None, metavar="zh|en", help="default: every approved language")
        parser.add_argument(
            "--batch-size", type=int, default=None, help="deliveries a worker claims at a time (SEND_BATCH_SIZE)"
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="leave temporary failures for a later run instead of waiting"
        )

    def handle(self, *args, **options):
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        day = day_option(options["date"])
        reports = Report.objects.filter(date=day)
        if options["language"]:
            reports = reports.filter(language=choice_option("--language", options["language"], ("zh", "en")))
        if not reports.exists():
            raise CommandError(f"no report of {day}: build one with `manage.py build_report --date {day}`")
        sendable = [r for r in reports if r.status in (Report.Status.APPROVED, Report.Status.SENDING)]
        if not sendable:
            states = ", ".join(f"{r.language} {r.status}" for r in reports)
            raise CommandError(f"nothing to send for {day} ({states}): only an approved report is sent")
        for report in sendable:
            try:
                summary = dispatch_report(
                    report, batch_size=options["batch_size"], wait_for_retries=not options["no_wait"]
                )
            except DispatchError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"{report.language} report of {day}: {summary} ({summary.variants} variants, "
                f"{settings.SEND_RATE_PER_SECOND:g}/s limit); report is {report.status}"
            )
            waiting = summary.counts.get("pending", 0)
            if waiting:
                later = next_retry_at(report)
                when = f" (the next is due at {timezone.localtime(later):%H:%M:%S %Z})" if later else ""
                self.stdout.write(
                    f"{waiting} deliveries wait for a retry after a temporary failure{when}; "
                    f"run `manage.py send_report --date {day}` again to send them"
                    + (" (--no-wait left them)" if options["no_wait"] else "")
                )
            if summary.marked_unknown:
                self.stderr.write(
                    f"warning: {summary.marked_unknown} deliveries were in flight when a worker died; "
                    "they are 'unknown' and wait for review in the admin"
                )

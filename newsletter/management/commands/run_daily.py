from django.core.management.base import BaseCommand, CommandError

from newsletter.daily import run_daily
from newsletter.management.arguments import day_option
from newsletter.models import DailyRun
from newsletter.schedule import yesterday


class Command(BaseCommand):
    help = "Collect and build a day now (default: yesterday), tell the editors, and approve it if AUTO_APPROVE."

    def add_arguments(self, parser):
        parser.add_argument("--date", default=None, metavar="YYYY-MM-DD", help="default: yesterday")

    def handle(self, *args, **options):
        day = day_option(options["date"]) if options["date"] else yesterday()
        run = run_daily(day, schedule_retries=False)
        if run.status == DailyRun.Status.FAILED:
            raise CommandError(f"{day}: {run.error.splitlines()[0] if run.error else 'failed'}")
        self.stdout.write(f"{day}: {run.get_status_display()}")
        for line in filter(None, run.error.splitlines()):
            self.stderr.write(f"warning: {line}")

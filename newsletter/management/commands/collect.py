from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from newsletter.collect import collect_day
from newsletter.days import day_window
from newsletter.management.arguments import day_option, progress_bar, repository_options


class Command(BaseCommand):
    help = "Collect one day (in REPORT_TIME_ZONE) of commits and issues from the repositories' hosts into the database."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="the day to collect")
        parser.add_argument(
            "--repo",
            action="append",
            metavar="OWNER/NAME",
            help="only this repository (repeatable); default: all enabled",
        )

    def handle(self, *args, **options):
        day = day_option(options["date"])
        repositories = repository_options(options["repo"])
        failures = []
        for repository in repositories:
            with progress_bar(repository.full_name, self.stdout) as progress:
                run = collect_day(repository=repository, day=day, progress=progress)
            cost = f"{run.requests} requests ({run.not_modified} not modified, {run.retries} retried)"
            if run.status == run.Status.SUCCEEDED:
                self.stdout.write(
                    f"{repository.full_name:<28} {day}  {run.commits:>4} commits  {run.issues:>4} issues  "
                    f"{cost}  {run.duration.total_seconds():.1f}s"
                )
            else:
                failures.append(run)
                self.stderr.write(f"{repository.full_name:<28} {day}  FAILED after {cost}: {run.error}")
        _, until = day_window(day)
        if until > timezone.now():
            self.stdout.write(
                f"note: {day} is not over yet in {settings.REPORT_TIME_ZONE} (it ends at {until:%Y-%m-%d %H:%M}): "
                "this is what exists so far; collect the day again once it has ended"
            )
        if failures:
            names = ", ".join(run.repository.full_name for run in failures)
            raise CommandError(f"{len(failures)} of {len(repositories)} repositories failed: {names}")

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from newsletter.management.arguments import choice_option, day_option, repository_options
from newsletter.models import Report
from newsletter.render.html import export_html
from newsletter.render.markdown import render_markdown


class Command(BaseCommand):
    help = "Print a report as Markdown or as a plain HTML document, optionally for some repositories only."

    def add_arguments(self, parser):
        parser.add_argument("--date", required=True, metavar="YYYY-MM-DD")
        parser.add_argument("--format", required=True, metavar="md|html")
        parser.add_argument("--repo", action="append", metavar="OWNER/NAME", help="only these repositories")
        parser.add_argument("--language", default=None, metavar="zh|en", help="default: REPORT_LANGUAGE")

    def handle(self, *args, **options):
        day = day_option(options["date"])
        output = choice_option("--format", options["format"], ("md", "html"))
        language = choice_option("--language", options["language"] or settings.REPORT_LANGUAGE, ("zh", "en"))
        repositories = [r.full_name for r in repository_options(options["repo"])] if options["repo"] else None
        report = Report.objects.filter(date=day, language=language).first()
        if report is None:
            raise CommandError(f"no {language} report of {day}: build it with `manage.py build_report --date {day}`")
        text = render_markdown(report, repositories) if output == "md" else export_html(report, repositories)
        self.stdout.write(text, ending="" if text.endswith("\n") else "\n")

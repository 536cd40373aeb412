"""The public archive: the latest issue, the list of past issues, each issue, its Markdown, the feed.

Only sent reports are public; any other date is a 404. Pages are in REPORT_LANGUAGE unless
`?lang=` asks for the other language (when that issue was sent in it too).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_safe

from newsletter.forms import SubscribeForm
from newsletter.models import Report, ReportSection, Repository
from newsletter.render.html import stylesheet
from newsletter.render.markdown import render_markdown, report_url
from newsletter.render.page import anchor, page_parts, section_html

PAGE_SIZE = 20
CODE_CSS = stylesheet()


def language_of(request: HttpRequest) -> str:
    wanted = request.GET.get("lang", settings.REPORT_LANGUAGE)
    return wanted if wanted in ("zh", "en") else settings.REPORT_LANGUAGE


def sent(language: str):
    return Report.objects.filter(status=Report.Status.SENT, language=language)


def sent_report(day: str, language: str) -> Report:
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise Http404("no such day") from None
    report = sent(language).filter(date=when).first()
    if report is None:
        raise Http404("no issue was sent that day")
    return report


def _issue_context(report: Report) -> dict:
    language = report.language
    previous = sent(language).filter(date__lt=report.date).order_by("-date").values_list("date", flat=True).first()
    following = sent(language).filter(date__gt=report.date).order_by("date").values_list("date", flat=True).first()
    return {
        "report": report,
        "page": page_parts(report),
        "canonical": report_url(report),
        "previous": previous,
        "following": following,
        "code_css": CODE_CSS,
        "page_language": language,
    }


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    language = language_of(request)
    latest = sent(language).order_by("-date").first()
    context = {"form": SubscribeForm(), "canonical": settings.SITE_URL + "/", "page_language": language}
    if latest:
        context.update(_issue_context(latest), canonical=settings.SITE_URL + "/")
    return render(request, "site/home.html", context)


@require_safe
def archive(request: HttpRequest) -> HttpResponse:
    language = language_of(request)
    reports = sent(language).order_by("-date")
    chosen = request.GET.get("repo", "").strip()
    repository = None
    if chosen:
        try:
            repository = Repository.objects.get_by_full_name(chosen)
        except Repository.DoesNotExist:
            raise Http404("no such repository") from None
        reports = reports.filter(sections__repository=repository, sections__stats__commits__gt=0)
    # Only what a row shows: an issue's text stays in the database until its own page is opened.
    sections = (
        ReportSection.objects.select_related("repository")
        .only("report_id", "order", "stats", "repository__owner", "repository__name", "repository__display_name")
        .order_by("order")
    )
    listed = reports.only("pk", "date", "language").prefetch_related(Prefetch("sections", queryset=sections))
    page = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for report in page:
        url = f"/reports/{report.date.isoformat()}/"
        active = [s for s in report.sections.all() if (s.stats or {}).get("commits")]
        rows.append(
            {
                "date": report.date.isoformat(),
                "url": url + ("" if language == settings.REPORT_LANGUAGE else f"?lang={language}"),
                "commits": sum(s.stats.get("commits", 0) for s in active),
                "repositories": [
                    (s.repository.display_name, s.stats.get("commits", 0), f"{url}#{anchor(s.repository.full_name)}")
                    for s in active
                ],
            }
        )
    context = {
        "page_obj": page,
        "rows": rows,
        "repositories": Repository.objects.enabled(),
        "chosen": repository,
        "canonical": settings.SITE_URL + "/reports/" + (f"?repo={repository.full_name}" if repository else ""),
        "page_language": language,
    }
    return render(request, "site/archive.html", context)


@require_safe
def issue(request: HttpRequest, day: str) -> HttpResponse:
    report = sent_report(day, language_of(request))
    return render(request, "site/report.html", _issue_context(report))


@require_safe
def issue_markdown(request: HttpRequest, day: str) -> HttpResponse:
    report = sent_report(day, language_of(request))
    response = HttpResponse(render_markdown(report), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="ai-infra-daily-{report.date}.md"'
    return response


class ContentAtom1Feed(Atom1Feed):
    """Atom with the whole issue in <content>, not only a summary."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        if item.get("content"):
            handler.addQuickElement("content", item["content"], {"type": "html"})


class IssuesFeed(Feed):
    feed_type = ContentAtom1Feed
    title = "AI Infra Daily"
    subtitle = "What changed in vLLM, SGLang, FlashInfer and more, every morning."

    def link(self):
        return settings.SITE_URL + "/reports/"

    def feed_url(self):
        return settings.SITE_URL + "/feed/"

    def items(self):
        return sent(settings.REPORT_LANGUAGE).order_by("-date")[:20]

    def item_title(self, report):
        return page_parts(report)["title"]

    def item_description(self, report):
        return page_parts(report)["description"]

    def item_link(self, report):
        return report_url(report)

    def item_guid(self, report):
        return report_url(report)

    def item_pubdate(self, report):
        return report.sent_at or report.updated_at

    def item_updateddate(self, report):
        return report.sent_at or report.updated_at

    def item_extra_kwargs(self, report):
        parts = page_parts(report)
        body = [parts["summary"]]
        for section in parts["sections"]:
            body.append(f"<h2>{escape(section['name'])}</h2>{section_html(section)}")
        body += [parts["issues"], parts["conclusions"]]
        return {"content": "".join(body)}

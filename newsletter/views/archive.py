"""The public archive: the latest issue, the list of past issues, each issue, its Markdown, the feed.

Only sent reports are public; any other date is a 404. Pages are in REPORT_LANGUAGE unless
`?lang=` asks for the other language (when that issue was sent in it too): the page's words too
are rendered in that language (`in_page_language`). Every page carries
ETag and Last-Modified and answers a conditional request with 304, and is cached whole
(archive_cache.py); the home page with a placeholder for the visitor's CSRF token.
"""

from __future__ import annotations

from datetime import date
from math import ceil
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe
from django.views.decorators.vary import vary_on_cookie

from newsletter.context import site
from newsletter.forms import SubscribeForm
from newsletter.languages import in_page_language, language_of, language_query
from newsletter.models import Report, ReportSection, Repository
from newsletter.render.html import stylesheet
from newsletter.render.markdown import render_markdown, report_parts, report_url
from newsletter.render.page import anchor, page_parts, section_html
from newsletter.views.archive_cache import (
    Validators,
    archive_state,
    public_page,
    stored_page,
    validators,
    with_validators,
)

PAGE_SIZE = 20
CODE_CSS = stylesheet()


def canonical_query(repository: Repository | None, language: str) -> str:
    parameters = {"repo": repository.full_name} if repository else {}
    if language != settings.REPORT_LANGUAGE:
        parameters["lang"] = language
    return "?" + urlencode(parameters, safe="/") if parameters else ""


def sent(language: str):
    return Report.objects.filter(status=Report.Status.SENT, language=language)


def day_of(day: str) -> date | None:
    try:
        return date.fromisoformat(day)
    except ValueError:
        return None


def sent_report(day: str, language: str) -> Report:
    when = day_of(day)
    if when is None:
        raise Http404("no such day")
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
        "page": page_parts(report_parts(report)),
        "canonical": report_url(report) + language_query(language),
        "previous": previous,
        "following": following,
        "code_css": CODE_CSS,
        "page_language": language,
    }


def home_validators(request: HttpRequest) -> Validators:
    language = language_of(request)
    state = archive_state(request, language)
    # The page holds a CSRF token made for the visitor's cookie: a 304 only while that cookie is
    # the one the page was made for.
    cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME, "")
    return validators("home", language, state.fingerprint, cookie, changed=state.changed)


# What the cached home page holds where the visitor's CSRF token goes (letters, digits and
# dashes: the template escapes nothing of it).
TOKEN_PLACEHOLDER = "csrf-token-of-the-visitor-9f2c4e"


@require_safe
@vary_on_cookie
@cache_control(private=True, no_cache=True)
@with_validators(home_validators)
@in_page_language
def home(request: HttpRequest) -> HttpResponse:
    """The same page for everyone but the form's CSRF token: cached whole, like the other pages,
    under the archive's state, with the visitor's token put in on the way out."""
    language = language_of(request)
    state = archive_state(request, language)
    key = "archive-home:" + validators("home page", language, state.fingerprint, changed=None).etag
    response = stored_page(key, lambda: render_home(request, language, state))
    response.content = response.content.replace(TOKEN_PLACEHOLDER.encode(), get_token(request).encode())
    return response


def render_home(request: HttpRequest, language: str, state) -> HttpResponse:
    context = {
        "form": SubscribeForm(language=language),
        "canonical": settings.SITE_URL + "/" + language_query(language),
        "page_language": language,
        "code_css": CODE_CSS,
        "csrf_token": TOKEN_PLACEHOLDER,  # above what the context processors give: the page is everyone's
    }
    report = sent(language).order_by("-date").first() if state.latest else None
    if report is not None:  # None: withdrawn a moment ago; the archive's state has moved on with it
        issue = {**site(None), **_issue_context(report)}
        context["latest"] = {"title": issue["page"]["title"], "html": render_to_string("site/_latest.html", issue)}
    return render(request, "site/home.html", context)


def archive_validators(request: HttpRequest) -> Validators:
    language = language_of(request)
    state = archive_state(request, language)
    # Keys from what the page is made of, not the query string as typed: a page number past the
    # end is the last page, anything not a number the first, a repository's name in any case
    # the same repository, so no one fills the cache with copies of one page.
    pages = max(1, ceil(state.published / PAGE_SIZE))
    try:
        number = int(request.GET.get("page", 1))
    except ValueError:
        number = 1
    page = number if 1 <= number <= pages else "last"
    chosen = request.GET.get("repo", "").strip().lower()
    return validators("archive", language, chosen, page, state.fingerprint, changed=state.changed)


@public_page(archive_validators)
@in_page_language
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
                "url": url + language_query(language),
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
        "canonical": settings.SITE_URL + "/reports/" + canonical_query(repository, language),
        "page_language": language,
    }
    return render(request, "site/archive.html", context)


def issue_validators(kind: str):
    def describe(request: HttpRequest, day: str) -> Validators | None:
        when, language = day_of(day), language_of(request)
        state = archive_state(request, language, when) if when else None
        if state is None or not state.shown:
            return None  # a 404: nothing to validate, nothing to cache
        return validators(kind, language, when, state.fingerprint, changed=state.changed)

    return describe


@public_page(issue_validators("issue"))
@in_page_language
def issue(request: HttpRequest, day: str) -> HttpResponse:
    report = sent_report(day, language_of(request))
    return render(request, "site/report.html", _issue_context(report))


@public_page(issue_validators("markdown"))
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
    """The newest issues in the language `?lang=` asks for, each in full, described in it too."""

    feed_type = ContentAtom1Feed
    title = "AI Infra Daily"

    def subtitle(self, language: str) -> str:
        return gettext("What changed in vLLM, SGLang, FlashInfer and more, every morning, explained by engineers.")

    def get_object(self, request: HttpRequest) -> str:
        return language_of(request)

    def link(self, language: str) -> str:
        return settings.SITE_URL + "/reports/" + language_query(language)

    def feed_url(self, language: str) -> str:
        return settings.SITE_URL + "/feed/" + language_query(language)

    def items(self, language: str) -> list[Report]:
        reports = list(sent(language).order_by("-date")[:20])
        for report in reports:
            report.parts = page_parts(report_parts(report))  # rendered once, read by each item_ method
        return reports

    def item_title(self, report):
        return report.parts["title"]

    def item_description(self, report):
        return report.parts["description"]

    def item_link(self, report):
        return report_url(report) + language_query(report.language)

    def item_guid(self, report):
        return report_url(report) + language_query(report.language)

    def item_pubdate(self, report):
        return report.sent_at or report.updated_at

    def item_updateddate(self, report):
        return report.sent_at or report.updated_at

    def item_extra_kwargs(self, report):
        parts = report.parts
        body = [parts["summary"]]
        for section in parts["sections"]:
            body.append(f"<h2>{escape(section['name'])}</h2>{section_html(section)}")
        body += [parts["issues"], parts["conclusions"]]
        return {"content": "".join(body)}


def feed_validators(request: HttpRequest) -> Validators:
    language = language_of(request)
    state = archive_state(request, language)
    return validators("feed", language, state.fingerprint, changed=state.changed)


feed = public_page(feed_validators)(in_page_language(IssuesFeed()))

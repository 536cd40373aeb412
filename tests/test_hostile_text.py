"""Hostile text from GitHub and from the model, collected and built for real, is only text in every output.

A replay folder holds a repository whose commit title, message and diff and whose issue title and
body are made of what turns Markdown or HTML live: links, images, raw HTML, emphasis, autolinks,
a code span that only a regex would close, a lone CR before a fence, CRLF, NUL. It is collected
through the replay server, built by each analyzer (the model's answers hostile too), then read
back from the Markdown export, both parts of the email as the SMTP server got them, the archive
page and its Markdown, the feed and the admin preview, with a renderer that allows raw HTML.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from markdown_it import MarkdownIt

from newsletter.audience import Variant
from newsletter.build import build_report
from newsletter.dispatch import dispatch_report
from newsletter.models import Commit, Issue, Report, ReportItem, Repository
from newsletter.render.email import PREFERENCES_URL, UNSUBSCRIBE_URL, one_line, render_email
from replay.server import ReplayServer
from sources.records import CommitRecord, FileChange, IssueRecord
from tests.fake_anthropic import FakeAnthropic
from tests.mailing import parts, subscriber
from tests.replay_folders import write_repo

pytestmark = pytest.mark.django_db

DAY = date(2026, 1, 29)
FULL_NAME = "evil-org/hostile"
SITE = "https://daily.example.com"
SHA = "ab" * 20
SHA_TABLE = "cd" * 20
# Two more CI commits: a day of three commits or fewer has every one analyzed, and the hostile CI
# title is meant for the day's table.
SHAS_QUIET = ("ef" * 20, "01" * 20)
BACKTICK_TRICK = "``[x](https://evil.example)` `"  # CommonMark: the link is text, "` `" the code span
HOSTILE = (
    f"{BACKTICK_TRICK} <img src=x onerror=alert(1)> <script>alert(2)</script> [a](javascript:alert(3)) "
    "![i](https://evil.example/p.png) **bold** _em_ ~~strike~~ https://evil.example/x www.evil.example"
)
TITLE = f"[Bugfix] {HOSTILE}"
MESSAGE = f"{TITLE}\r\n\r\nWhy: {HOSTILE}\x00 and\ra lone CR.\r\n\r\nSigned-off-by: Mallory <m@evil.example>\r\n"
PATCH = (
    "@@ -1,2 +1,7 @@\r\n"
    " import os\r\n"
    "+LIMIT = 1\r```\r\n"  # a lone CR: to CommonMark a line ending, and then a fence
    "+<script>alert(4)</script>\r\n"
    "+if os.environ.get('X'):\r\n"
    "+    raise ValueError('``[x](https://evil.example)` ` <img src=x onerror=alert(5)>')\x00\r\n"
    "+FENCE = '```'\r\n"
    " KEEP = 0"
)
ISSUE_TITLE = f"[Bug]: {HOSTILE}"
ISSUE_BODY = f"{HOSTILE}\r\n\r\n<details><summary>x</summary>\r\n\r\n[b](javascript:alert(6))\x00\r</details>"
MODEL_TEXT = f"The model repeats it: {HOSTILE}"
QUOTED = (
    "<script>alert(4)</script>\nif os.environ.get('X'):\n    raise ValueError('"
    + BACKTICK_TRICK
    + " <img src=x onerror=alert(5)>')"
)
SHOWN = [
    "``[x](https://evil.example)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    "[a](javascript:alert(3))",
    "![i](https://evil.example/p.png)",
    "**bold** _em_ ~~strike~~",
    "https://evil.example/x www.evil.example",
]

# A renderer as permissive as a reader's: raw HTML on, GFM tables and strikethrough, and GFM-style
# bare-URL links (linkify-it-py).
RENDERER = MarkdownIt("commonmark", {"html": True, "linkify": True}).enable(["table", "strikethrough", "linkify"])
HEADINGS = ["Past issues", "Summary", "Analysis", "Issue highlights", "Conclusions"]


def ours(href: str) -> bool:
    """Links the project builds: GitHub's pages of the repository, the site's own pages, and the
    placeholders an editor's preview of a variant shows where each subscriber's links will be."""
    own = (f"https://github.com/{FULL_NAME}", SITE + "/", "/", "#", UNSUBSCRIBE_URL, PREFERENCES_URL)
    return href.startswith(own)


def walk(tokens):
    for token in tokens:
        yield token
        yield from walk(token.children or [])


def check_markdown(markdown: str, where: str) -> None:
    assert "\r" not in markdown and "\x00" not in markdown, where
    env: dict = {}
    tokens = list(walk(RENDERER.parse(markdown, env)))
    kinds = [t.type for t in tokens]
    assert not env.get("references"), where
    assert not {"html_inline", "html_block", "image", "s_open"} & set(kinds), where
    hrefs = [t.attrGet("href") for t in tokens if t.type == "link_open"]
    assert hrefs and all(ours(href) for href in hrefs), (where, [h for h in hrefs if not ours(h)])
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert headings == HEADINGS, where  # no code block ran to the end, none ended early
    fences = [t.content for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and "<script>alert(4)</script>" in fences[0] and "alert(5)" in fences[0], where
    for i, token in enumerate(tokens):
        if token.type in ("em_open", "strong_open"):
            inner = tokens[i + 1].content if tokens[i + 1].type == "text" else ""
            assert inner not in ("bold", "em", "strike"), (where, token.type, inner)
    check_html(RENDERER.render(markdown), where)


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def check_html(html: str, where: str) -> None:
    page = Page()
    page.feed(html)
    forbidden = {"script", "img", "iframe", "object", "embed", "svg", "math", "details"} & {t for t, _ in page.tags}
    assert not forbidden, (where, forbidden)
    for tag, attrs in page.tags:
        assert not [name for name in attrs if name.startswith("on")], (where, tag, attrs)
        if tag == "a" and "href" in attrs:
            assert ours(attrs["href"]), (where, attrs["href"])
    text = "".join(page.text)
    for shown in SHOWN:  # what was hostile is shown as the characters it is
        assert shown in text, (where, shown)


def hostile_repository(tmp_path):
    when = datetime(2026, 1, 29, 2, 0, tzinfo=UTC)  # inside 2026-01-29 in Asia/Shanghai
    directory = write_repo(
        tmp_path,
        FULL_NAME,
        [
            (SHA, when, MESSAGE),
            (SHA_TABLE, when.replace(hour=3), f"[CI] {HOSTILE}\r\n\r\nbody\x00"),
            *((sha, when.replace(hour=4 + n), f"[CI] Pin runner {n}") for n, sha in enumerate(SHAS_QUIET)),
        ],
        issues=[
            {
                "url": f"https://api.github.com/repos/{FULL_NAME}/issues/7",
                "repository_url": f"https://api.github.com/repos/{FULL_NAME}",
                "html_url": f"https://github.com/{FULL_NAME}/issues/7",
                "number": 7,
                "title": ISSUE_TITLE,
                "user": {"login": "mallory"},
                "labels": [{"name": "bug"}],
                "state": "open",
                "comments": 3,
                "created_at": "2026-01-29T03:00:00Z",
                "updated_at": "2026-01-29T04:00:00Z",
                "closed_at": None,
                "body": ISSUE_BODY,
            }
        ],
    )
    quiet = [(sha, ".github/workflows/ci.yml", "+x") for sha in SHAS_QUIET]
    for sha, path, patch in (
        (SHA, "src/hostile/engine.py", PATCH),
        (SHA_TABLE, ".github/workflows/ci.yml", "+x"),
        *quiet,
    ):
        detail_file = directory / "commits" / f"{sha}.json"
        detail = json.loads(detail_file.read_text())
        detail["files"] = [{"filename": path, "status": "modified", "additions": 5, "deletions": 0, "patch": patch}]
        detail["stats"] = {"total": 5, "additions": 5, "deletions": 0}
        detail_file.write_text(json.dumps(detail))
    Repository.objects.exclude(owner="evil-org").update(enabled=False)
    return Repository.objects.create(owner="evil-org", name="hostile", display_name="Hostile", order=0)


@pytest.fixture
def hostile_model(fake_anthropic, monkeypatch):
    """The fake Messages API, answering with hostile text in every free-text field it has."""
    item, repository, issue = FakeAnthropic.item, FakeAnthropic.repository, FakeAnthropic.issue

    def hostile_item(self, request, behaviour):
        prose = {"headline": MODEL_TEXT, "details": MODEL_TEXT, "impact": MODEL_TEXT, "verdict_reason": MODEL_TEXT}
        answer = item(self, request, behaviour) | prose
        if request.sha == SHA:  # lines quoted verbatim from the diff, under a language that tries to close the fence
            snippet = {"path": "src/hostile/engine.py", "language": "python\n```\n<b>", "code": QUOTED}
            answer["snippets"] = [snippet | {"note": MODEL_TEXT}]
        return answer

    def hostile_repository(self, request, behaviour):
        answer = repository(self, request, behaviour)
        picks = [pick | {"why": MODEL_TEXT} for pick in answer["issue_highlights"]]
        return {"assessment": MODEL_TEXT, "issue_highlights": picks}

    def hostile_issue(self, request, behaviour):
        # The summary's citations are good; the conclusions repeat them.
        sentences = [sentence | {"text": MODEL_TEXT} for sentence in issue(self, request, behaviour)["summary"]]
        return {"summary": sentences, "conclusions": sentences}

    monkeypatch.setattr(FakeAnthropic, "item", hostile_item)
    monkeypatch.setattr(FakeAnthropic, "repository", hostile_repository)
    monkeypatch.setattr(FakeAnthropic, "issue", hostile_issue)
    return fake_anthropic


def test_records_hold_clean_text():
    """At the source: LF line endings, no NUL or other C0 control, in every text field."""
    commit = CommitRecord(
        sha=SHA, message="a\r\nb\rc\x00\x07\td", author_name="M\x00", author_login="m\r", authored_at=None,
        committed_at=None, html_url="", additions=0, deletions=0,
        files=(FileChange(path="a\x00.py", status="modified", additions=1, deletions=0, patch="+x\r\n+y\rz"),),
    )  # fmt: skip
    assert commit.message == "a\nb\nc\td" and commit.title == "a"
    assert (commit.author_name, commit.author_login) == ("M", "m\n")
    assert commit.files[0].patch == "+x\n+y\nz" and commit.files[0].path == "a.py"
    issue = IssueRecord(
        number=1, title="t\x00", body="b\r\n\x1b[31m", state="open", labels=("x\x00",), author_login="m",
        comments=0, created_at=None, updated_at=None, closed_at=None, html_url="", is_pull_request=False,
    )  # fmt: skip
    assert (issue.title, issue.body, issue.labels) == ("t", "b\n[31m", ("x",))


@pytest.mark.parametrize("analyzer", ["heuristic", "anthropic"])
def test_hostile_text_is_only_text_in_every_output(
    analyzer, request, tmp_path, settings, smtp, editor_client, client, django_capture_on_commit_callbacks
):
    if analyzer == "anthropic":
        request.getfixturevalue("hostile_model")
    settings.SITE_URL = SITE
    settings.REPORT_LANGUAGE = "en"
    hostile_repository(tmp_path)
    with ReplayServer(tmp_path) as server:
        settings.GITHUB_API_URL = server.url
        call_command("collect", "--date", DAY.isoformat(), "--repo", FULL_NAME, stdout=StringIO())
    commit = Commit.objects.get(sha=SHA)
    assert commit.title == TITLE and "\r" not in commit.message and "\x00" not in commit.message
    assert "\r" not in json.dumps(commit.files) and "\\u0000" not in json.dumps(commit.files)
    issue = Issue.objects.get(number=7)
    assert issue.title == ISSUE_TITLE and "\r" not in issue.body and "\x00" not in issue.body

    report = build_report(day=DAY, language="en", analyzer=analyzer)
    assert report.analyzer == analyzer and not report.warnings, report.warnings
    items = ReportItem.objects.filter(report=report)
    highlight = items.get(kind=ReportItem.Kind.HIGHLIGHT)
    assert HOSTILE in highlight.title and "<script>" in highlight.snippets.get().code  # the hostile text is in there
    assert items.filter(kind=ReportItem.Kind.LISTED).count() == 3 and items.filter(kind=ReportItem.Kind.ISSUE).exists()
    if analyzer == "anthropic":  # the model's hostile answers made it into the report
        assert highlight.title == highlight.details == highlight.impact == MODEL_TEXT
        sentences = report.statements.values_list("kind", "text")
        assert [kind for kind, text in sentences if "The model repeats it" in text] == ["conclusion"] * 2 + [
            "summary"
        ] * 2

    # The other fields an analyzer or an editor writes are hostile too: a statement's lead, a verdict's
    # reason, a breaking surface, a snippet's note; and the issue names the commit that fixes it.
    ReportItem.objects.filter(pk=highlight.pk).update(
        verdict="risk", verdict_reason=MODEL_TEXT, breaking=True, breaking_surface=MODEL_TEXT, topics=["api"]
    )
    highlight.snippets.update(note=MODEL_TEXT)
    assert report.statements.update(lead=MODEL_TEXT[:200]) >= 1  # as long as a lead may be
    items.filter(kind=ReportItem.Kind.ISSUE).update(fixed_by=commit)

    out = StringIO()
    call_command("export_report", "--date", DAY.isoformat(), "--format", "md", "--language", "en", stdout=out)
    exported = out.getvalue()
    assert exported.count("Risk — The model repeats it") == exported.count("⚠️ breaking (The model repeats it") == 1
    assert f"Fixed by [`{commit.short_sha}`]({commit.html_url})." in exported
    check_markdown(exported, "export_report --format md")

    # The admin preview, as an editor sees it before approving.
    preview = editor_client.get(
        reverse("admin:newsletter_report_preview", args=[report.pk]), {"repositories": [FULL_NAME], "output": "html"}
    )
    subject, text, html = preview.context["rendered"]
    check_markdown(text.split("\n---\nPreferences")[0], "preview text")
    check_html(html, "preview html")
    page = preview.content.decode()
    for raw in ("<img src=x", "<script>alert", 'href="javascript', "<details"):
        assert raw not in page, raw
    assert subject.startswith("AI Infra Daily 2026-01-29 · Hostile: ") and "\n" not in subject and "\r" not in subject

    # The email, as the SMTP server received it, in both formats.
    Report.objects.filter(pk=report.pk).update(status=Report.Status.APPROVED)
    subscriber("html@example.com", "hostile", language="en", output="html")
    subscriber("text@example.com", "hostile", language="en", output="markdown")
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_report(Report.objects.get(pk=report.pk))
    received = {message["To"]: message for message in smtp.messages}
    assert set(received) == {"html@example.com", "text@example.com"}
    for address, message in received.items():
        for header in ("Subject", "To", "From"):
            assert "\n" not in str(message[header]).strip() and "\r" not in str(message[header]), header
        assert "Bcc" not in message and str(message["Subject"]).strip().startswith("AI Infra Daily 2026-01-29")
        # Mail travels with CRLF line ends; a CR of the text's own would stand alone.
        bodies = {kind: body.replace("\r\n", "\n") for kind, body in parts(message).items()}
        check_markdown(bodies["text/plain"].split("\n---\nPreferences")[0], f"{address} text/plain")
        if address.startswith("html"):
            check_html(bodies["text/html"], f"{address} text/html")
        else:
            assert list(bodies) == ["text/plain"]

    # The archive, once sent: the page, its Markdown and the feed.
    Report.objects.filter(pk=report.pk).update(status=Report.Status.SENT, sent_at=datetime(2026, 1, 29, tzinfo=UTC))
    check_html(client.get("/reports/2026-01-29/").content.decode(), "/reports/2026-01-29/")
    check_markdown(client.get("/reports/2026-01-29.md").content.decode(), "/reports/2026-01-29.md")
    feed = ET.fromstring(client.get("/feed/").content)
    (entry,) = feed.findall("{http://www.w3.org/2005/Atom}entry")
    check_html(entry.find("{http://www.w3.org/2005/Atom}content").text, "/feed/")


def test_the_subject_is_one_line_whatever_the_title_holds(settings, tmp_path):
    settings.SITE_URL = SITE
    repository = hostile_repository(tmp_path)
    when = datetime(2026, 1, 29, 2, tzinfo=UTC)
    Commit.objects.create(
        repository=repository, sha=SHA, title="[Bugfix] fix", message="[Bugfix] fix", authored_at=when,
        committed_at=when, html_url=f"https://github.com/{FULL_NAME}/commit/{SHA}", additions=1,
        files=[{"path": "src/a.py", "status": "modified", "additions": 1, "deletions": 0, "patch": "+a = 1"}],
    )  # fmt: skip
    report = build_report(day=DAY, language="en", analyzer="heuristic")
    # Stored before sources cleaned text, or pasted by an editor: the subject still holds one line.
    ReportItem.objects.filter(report=report, kind=ReportItem.Kind.HIGHLIGHT).update(
        title="Fix\r\nBcc: all@example.com\x07\u2028x\u202e\x1b[0m **bold**"  # PostgreSQL takes no NUL
    )
    Repository.objects.filter(pk=repository.pk).update(display_name="Hos\ntile")
    subject = render_email(Report.objects.get(pk=report.pk), Variant((FULL_NAME,), "en", "markdown")).subject
    assert subject == "AI Infra Daily 2026-01-29 · Hos tile: Fix Bcc: all@example.com x[0m **bold**"
    assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e]", subject)
    assert one_line("a\x00b\r\n\x85c") == "ab c"

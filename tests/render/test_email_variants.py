"""Email variants from parts compiled once per report: compiles grow with the repositories, not
with the variants, and each assembled email is the whole template compiled for that variant."""

import itertools
import re
from html.parser import HTMLParser

import pytest

from newsletter.audience import Variant, active_repositories
from newsletter.build import build_report
from newsletter.models import Report, ReportItem
from newsletter.render import email as email_render
from newsletter.render.email import render_email
from newsletter.render.markdown import report_parts
from tests.busy_days import DAY, many_repositories
from tests.render.test_email import counted_compiles

pytestmark = pytest.mark.django_db


@pytest.fixture
def ten(collected) -> tuple[Report, list[str]]:
    """The 2026-01-29 report over 10 repositories with activity, and their names in report order."""
    names = [r.full_name for r in many_repositories(10)]
    report = build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
    assert active_repositories(report) == names
    return report, names


def sample(names: list[str], per_size: int = 3):
    """Variants of every size from 1 to all: the first few combinations of each size."""
    for size in range(1, len(names) + 1):
        for chosen in itertools.islice(itertools.combinations(names, size), per_size):
            yield tuple(sorted(chosen))


def whole_template(report: Report, repositories: tuple[str, ...]) -> str:
    """The email as one compile of the whole template, the way every variant was compiled before."""
    parts = report_parts(report, repositories)
    sections = "".join(
        email_render.section_source(report, section, body.lines, str(n))
        for n, (section, body) in enumerate(zip(parts.sections, parts.analyses, strict=True), start=1)
    )
    values = email_render.frame_values(parts, email_render.subject_for(parts))
    source = email_render.frame_source(parts, values, sections)
    return email_render._inliner.inline(email_render.mjml2html(source, disable_comments=True, fonts={}))


class Reading(HTMLParser):
    """What a reader gets of an email: its text and its links, in order."""

    def __init__(self, html: str):
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def test_ten_repositories_compile_once_each_and_every_variant_is_the_whole_template(ten, monkeypatch, settings):
    settings.EMAIL_MAX_BYTES = 0  # whole tables, as the whole template has them (the budget has its own tests)
    report, names = ten
    compiles = counted_compiles(monkeypatch)
    variants = list(sample(names, per_size=2))
    assert len(variants) == 19  # of the 1,023 a reader could pick, every size from 1 to 10
    emails = {repositories: render_email(report, Variant(repositories, "zh", "html")).html for repositories in variants}
    # The frame once and each section once, for 19 variants (whole_template's compiles below are not counted).
    assert len(compiles) == 1 + len(names)
    assert len([source for source in compiles if "%%summary%%" in source]) == 1
    for repositories in sample(names, per_size=1):
        html = emails[repositories]
        assert html == whole_template(report, repositories), repositories
        reading = Reading(html)
        # Each chosen repository's section, numbered, in report order, and nothing of the others.
        assert [t for t in reading.text if re.fullmatch(r"\d+\.", t)] == [
            f"{n}." for n in range(1, len(repositories) + 1)
        ]
        headings = [link for link in reading.links if re.fullmatch(r"https://github\.com/[^/]+/[^/]+", link)]
        assert headings == [f"https://github.com/{name}" for name in names if name in repositories]
        commits = [link for link in reading.links if "/commit/" in link]
        assert commits and all(link.split("/")[3] + "/" + link.split("/")[4] in repositories for link in commits)
    # Rendering again compiles nothing; a Markdown variant never compiles.
    for repositories in variants[::6]:
        render_email(report, Variant(repositories, "zh", "html"))
        render_email(report, Variant(repositories, "zh", "markdown"))
    assert len(compiles) == 1 + len(names)


def test_an_edited_report_is_compiled_again_only_where_it_changed(collected, monkeypatch, settings):
    settings.EMAIL_MAX_BYTES = 0
    report = build_report(day=DAY, language="zh", analyzer="heuristic", force=True)
    variant = Variant(tuple(sorted(active_repositories(report))), "zh", "html")
    compiles = counted_compiles(monkeypatch)
    render_email(report, variant)
    assert len(compiles) == 1 + len(variant.repositories)
    item = ReportItem.objects.filter(report=report, kind=ReportItem.Kind.HIGHLIGHT).first()
    item.title = "An editor's better headline"
    item.save()  # the item alone, as on its own admin page: the report row is not saved
    report = Report.objects.get(pk=report.pk)
    html = render_email(report, variant).html
    assert "An editor's better headline" in "".join(Reading(html).text)
    assert len(compiles) == 2 + len(variant.repositories) and "better headline" in compiles[-1]
    assert html == whole_template(report, variant.repositories)

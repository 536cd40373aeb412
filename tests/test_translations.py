"""The Chinese catalogue: compiled from its .po as committed, holding every message of the code and
the templates, each translated (the admin's too), and everything rendered in its own language."""

import gettext
import io
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from newsletter.analysis.wording import CLAIM_VERBS, MESSAGES, claim_verb, say, word
from newsletter.audience import Variant, active_repositories
from newsletter.build import build_report
from newsletter.languages import LOCALES
from newsletter.mail import confirmation_email
from newsletter.models import Report, Subscriber
from newsletter.render.email import render_email
from newsletter.render.markdown import render_markdown

BASE = Path(settings.BASE_DIR)
CATALOGUE = BASE / "newsletter" / "locale" / "zh_Hans" / "LC_MESSAGES"
# What `makemessages` reads: the project's code and templates (and what settings import).
SOURCES = ["manage.py", "ai_infra_daily", "newsletter", "sources", "templates"]


def test_the_committed_mo_is_the_compiled_po(tmp_path):
    """A fresh clone shows Chinese without compiling: the .mo in git must match its .po."""
    assert shutil.which("msgfmt"), "GNU gettext's msgfmt is needed (Debian package gettext)"
    compiled = tmp_path / "django.mo"
    # --check: formats ({names} in both), header and plural forms; a broken .po fails here.
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    with open(compiled, "rb") as fresh, open(CATALOGUE / "django.mo", "rb") as committed:
        assert gettext.GNUTranslations(fresh)._catalog == gettext.GNUTranslations(committed)._catalog


def messages_of(po: Path) -> set:
    """Every message of a .po, translated or not: msgen fills each with its English, msgfmt compiles."""
    filled = subprocess.run(["msgen", str(po)], check=True, capture_output=True).stdout
    compiled = subprocess.run(["msgfmt", "-o", "-", "-"], input=filled, check=True, capture_output=True).stdout
    return set(gettext.GNUTranslations(io.BytesIO(compiled))._catalog) - {""}


def extracted(tmp_path: Path, *, add: dict[str, str] | None = None) -> set:
    """The messages `makemessages` finds in a copy of the project (plus the files in `add`)."""
    project = tmp_path / "project"
    project.mkdir()
    for name in SOURCES:
        source = BASE / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, project / name)
    for name, text in (add or {}).items():
        (project / name).write_text(text)
    command = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans"]
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "ai_infra_daily.settings", "SECRET_KEY": "x" * 50}
    subprocess.run(command, cwd=project, env=env, check=True, capture_output=True)
    return messages_of(project / "newsletter" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")


def test_the_catalogue_holds_every_message_of_the_code_and_templates_and_no_other(tmp_path):
    """`makemessages` run now would change nothing: no message is missing, none is left over."""
    assert extracted(tmp_path) == messages_of(CATALOGUE / "django.po")


def test_a_template_message_missing_from_the_catalogue_is_found(tmp_path):
    new = {"templates/pages/new.html": '{% load i18n %}{% translate "A word nobody translated" %}'}
    assert extracted(tmp_path, add=new) - messages_of(CATALOGUE / "django.po") == {"A word nobody translated"}


def test_the_catalogue_has_no_fuzzy_entry():
    flags = [line for line in (CATALOGUE / "django.po").read_text().splitlines() if line.startswith("#,")]
    assert not [line for line in flags if "fuzzy" in line]


def test_every_message_of_the_code_and_templates_is_translated(tmp_path):
    """Every message has its Chinese in the .mo: the readers' (reports, emails, pages) and the
    editors' (the admin)."""
    with open(CATALOGUE / "django.mo", "rb") as handle:
        translated = {key for key, text in gettext.GNUTranslations(handle)._catalog.items() if text}
    found = extracted(tmp_path)
    assert len(found) > 500  # the analyzer's, the pages' and the admin's messages, not an empty extraction
    assert found - translated == set()


def test_every_message_is_translated():
    with open(CATALOGUE / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog
    contexts = {key.split("\x04", 1)[0] if isinstance(key, str) else key[0].split("\x04", 1)[0] for key in catalogue}
    assert set(MESSAGES) <= contexts
    assert {"claim verb", "claim verb of throughput"} <= contexts
    assert set(LOCALES) == {"zh", "en"}


@pytest.mark.parametrize(
    ("language", "said"),
    [("zh", "新增命令行参数 `--a`、`--b`"), ("en", "adds the CLI flags `--a`, `--b`")],
)
def test_a_plural_message_follows_its_count_in_each_language(language, said):
    names = word(language, "list_sep").join(["`--a`", "`--b`"])
    assert say(language, "fact.flag_added", count=2, names=names, default="") == said
    assert say("en", "fact.flag_added", count=1, names="`--a`", default="") == "adds the CLI flag `--a`"


def test_a_claims_verb_is_said_only_where_the_language_translates_it():
    assert claim_verb("zh", "improvement") == "改善" and claim_verb("zh", "improvement", throughput=True) == "提升"
    assert claim_verb("en", "improvement") == "" and claim_verb("zh", "unheard-of") == ""
    assert set(CLAIM_VERBS) >= {"improvement", "speedup", "reduction"}


# --- rendered in the language asked for, whatever language is active -----------------------------


def sent(day: date, language: str) -> Report:
    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
    Report.objects.filter(pk=report.pk).update(status="sent", sent_at=datetime(2026, 1, 29, 1, tzinfo=UTC))
    report.refresh_from_db()
    return report


# (words of the email's HTML, of the Markdown); each language's are foreign to the other's output.
WORDS = {
    "zh": (["往期回顾", "Issues 看点", "其他提交", "在浏览器中查看", "本期仓库：", "偏好设置"],
           ["## 往期回顾", "## 具体内容分析", "其他提交"]),
    "en": (["Past issues", "Issue highlights", "Other commits", "View in your browser", "In this issue: "],
           ["## Past issues", "## Analysis", "Other commits"]),
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "active", "other"), [("zh", "en", "en"), ("en", "zh-hans", "zh")])
def test_a_report_and_its_email_are_in_the_reports_language_whatever_is_active(collected, language, active, other):
    report = sent(date(2026, 1, 29), language)
    variant = Variant(tuple(sorted(active_repositories(report))), language, "html")
    with translation.override(active):
        email = render_email(report, variant)
        markdown = render_markdown(report)
        assert translation.get_language() == active  # rendering leaves the caller's language alone
    (in_email, in_markdown), foreign = WORDS[language], [*WORDS[other][0], *WORDS[other][1]]
    assert [w for w in in_email if w not in email.html] == []
    assert [w for w in in_markdown if w not in markdown + email.text] == []
    assert [w for w in foreign if w in email.html + email.text + markdown] == []


@pytest.mark.django_db
@pytest.mark.parametrize(("site", "lang", "words", "foreign"), [
    ("zh-hans", "en", ["Skip to content", "Issue highlights", 'lang="en"', "Other commits"], ["跳到正文", "其他提交"]),
    ("en", "zh", ["跳到正文", "Issues 看点", 'lang="zh-CN"', "其他提交"], ["Skip to content", "Other commits"]),
])  # fmt: skip
def test_an_issue_page_is_in_the_language_of_its_url_whatever_the_site_language(
    collected, client, settings, site, lang, words, foreign
):
    """`?lang=` chooses the page's words, on a site whose own language is the other one."""
    settings.LANGUAGE_CODE = site
    settings.REPORT_LANGUAGE = "zh" if site == "zh-hans" else "en"
    sent(date(2026, 1, 29), lang)
    page = client.get(f"/reports/2026-01-29/?lang={lang}").content.decode()
    assert all(w in page for w in words), [w for w in words if w not in page]
    assert not [w for w in foreign if w in page]


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "active", "said", "foreign"), [
    ("en", "zh-hans", "Confirm your AI Infra Daily subscription", "请确认"),
    ("zh", "en", "请确认订阅 AI Infra Daily", "Confirm"),
])  # fmt: skip
def test_a_confirmation_email_is_in_the_subscribers_language(language, active, said, foreign):
    person = Subscriber.objects.create(email="ada@example.com", language=language, status="pending")
    with translation.override(active):
        message = confirmation_email(person)
    html = message.alternatives[0][0]
    assert message.subject == said and foreign not in message.body + html
    assert f'<html lang="{"zh-CN" if language == "zh" else "en"}">' in html


# The project's own admin strings an editor meets on the report's pages, in English and in Chinese;
# each language's are foreign to the other's pages (the models' own labels are not among them).
ADMIN_WORDS = {
    "change": [
        ('value="Approve" id="approve-button"', 'value="批准" id="approve-button"'),
        (">Preview</a>", ">预览</a>"),
        ("Deliveries:", "投递情况："),
        ("review the unknown ones", "核查状态未知的投递"),
        ("1 warning from the build:", "构建产生了 1 条警告："),
        ("Edit history", "编辑历史"),
    ],
    "changelist": [("Unknown (review)", "状态未知（待核查）")],
    "preview": [
        ('value="Send test to me (editor@example.com)"', 'value="给我发送测试邮件（editor@example.com）"'),
        ('value="Show preview"', 'value="显示预览"'),
        ("Markdown (the text/plain part)", "Markdown（text/plain 部分）"),
    ],
    "deliveries": [
        ("Mark as delivered (the subscriber got it)", "标记为已送达（订阅者已收到）"),
        ("Send again (only if you are sure the subscriber did not get it)", "重新发送（仅在确定订阅者没有收到时使用）"),
    ],
}


@pytest.mark.django_db
@pytest.mark.parametrize("site", ["zh-hans", "en"])
def test_the_admin_speaks_the_sites_language_to_editors(collected, client, editor, settings, site):
    """An editor of the Chinese site (the default) sees the project's buttons, actions and columns
    in Chinese, as Django's own; on an English site, in English."""
    settings.LANGUAGE_CODE = site
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    Report.objects.filter(pk=report.pk).update(warnings=["the model's answer broke the schema"])
    person = Subscriber.objects.create(email="ada@example.com", status="active")
    report.deliveries.create(subscriber=person, status="unknown")
    client.force_login(editor)
    urls = {
        "change": reverse("admin:newsletter_report_change", args=[report.pk]),
        "changelist": reverse("admin:newsletter_report_changelist"),
        "preview": reverse("admin:newsletter_report_preview", args=[report.pk]),
        "deliveries": reverse("admin:newsletter_delivery_changelist"),
    }
    pages = {name: client.get(url).content.decode() for name, url in urls.items()}
    for name, page in pages.items():
        english, chinese = zip(*ADMIN_WORDS[name], strict=True)
        said, foreign = (chinese, english) if site == "zh-hans" else (english, chinese)
        assert [w for w in said if w not in page] == [], name
        assert [w for w in foreign if w in page] == [], name
    # Side by side with Django's own words, from Django's catalogue: no mixed-language page.
    assert ('value="保存"' if site == "zh-hans" else 'value="Save"') in pages["change"]

"""The editor's desk in the admin, with the test client: edit, history, preview, test, approve, dispatch."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from newsletter.build import build_report
from newsletter.models import Commit, Delivery, Issue, ItemSnippet, Report, ReportItem, ReportStatement
from newsletter.render.markdown import render_markdown
from tests.mailing import parts, subscriber

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


@pytest.fixture(autouse=True)
def _english_admin(settings):
    """These tests are about what the editor's desk does, not its wording: they read the admin in
    English. The admin in the site's language (Chinese by default) is tested in test_translations."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def draft(collected):
    return build_report(day=DAY, language="zh", analyzer="heuristic")


def change_url(report):
    return reverse("admin:newsletter_report_change", args=[report.pk])


def form_payload(client, report, url: str | None = None) -> dict:
    """The change form (the report's, or `url`'s) as the browser would submit it, unchanged."""
    page = client.get(url or change_url(report))
    assert page.status_code == 200
    data = {}
    for form in [
        page.context["adminform"].form,
        *[f for fs in page.context["inline_admin_formsets"] for f in fs.formset],
    ]:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value is None:
                continue
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif hasattr(value, "pk"):
                data[key] = value.pk
            elif isinstance(value, list):  # cited rows, or topic slugs
                data[key] = [getattr(v, "pk", v) for v in value]
            else:
                data[key] = value
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management.initial.get(name, management[name].value())
    return data


def test_the_list_shows_status_warnings_and_delivery_counts(editor_client, draft):
    Report.objects.filter(pk=draft.pk).update(warnings=["a", "b"])
    page = editor_client.get(reverse("admin:newsletter_report_changelist"))
    assert page.status_code == 200
    row = page.content.decode()
    assert "2026" in row and "draft" in row and "heuristic" in row


def test_editing_an_item_keeps_the_previous_text(editor_client, draft, editor):
    item = ReportItem.objects.filter(report=draft, kind="highlight").first()
    old_title = item.title
    data = form_payload(editor_client, draft)
    key = next(k for k, v in data.items() if k.endswith("-title") and v == old_title)
    data[key] = "A clearer headline"
    answer = editor_client.post(change_url(draft), data)
    assert answer.status_code == 302, answer.context and answer.context.get("errors")
    item.refresh_from_db()
    assert item.title == "A clearer headline"
    history = item.history.order_by("history_date")
    assert [h.title for h in history] == [old_title, "A clearer headline"]
    assert history.last().history_user == editor
    page = editor_client.get(change_url(draft)).content.decode()
    assert "A clearer headline" in page and old_title in page and "editor" in page  # the edit history table


def test_warnings_are_shown_at_the_top(editor_client, draft):
    Report.objects.filter(pk=draft.pk).update(
        warnings=["vllm-project/vllm c4e744d: the model's answer broke the schema twice"]
    )
    page = editor_client.get(change_url(draft)).content.decode()
    assert page.index('id="report-warnings"') < page.index('id="report_form"')
    assert "broke the schema twice" in page


def test_preview_as_a_vllm_only_subscriber(client, admin_user, draft):
    client.force_login(admin_user)
    person = subscriber("vllm@example.com", "vllm")
    page = client.get(
        reverse("admin:newsletter_report_preview", args=[draft.pk]), {"subscriber": person.pk, "output": "html"}
    )
    assert page.status_code == 200
    subject, text, html = page.context["rendered"]
    assert subject.startswith("AI Infra Daily 2026-01-29 · vLLM: ")
    assert "sgl-project" not in text and "sgl-project" not in html
    assert "/unsubscribe/" in text  # the subscriber's own links, as they would get them


def test_editors_preview_by_variant_without_seeing_subscribers(editor_client, draft):
    subscriber("someone@example.com")
    url = reverse("admin:newsletter_report_preview", args=[draft.pk])
    page = editor_client.get(url, {"repositories": ["vllm-project/vllm"], "output": "markdown"})
    assert "subscriber" not in page.context["form"].fields and b"someone@example.com" not in page.content
    _subject, text, html = page.context["rendered"]
    assert html == "" and "## 具体内容分析" in text and "github.com/sgl-project" not in text


def test_send_test_to_me(editor_client, draft, smtp):
    url = reverse("admin:newsletter_report_send_test", args=[draft.pk])
    choices = {"repositories": ["vllm-project/vllm", "sgl-project/sglang"], "output": "html"}
    answer = editor_client.post(url, {**choices, "csrfmiddlewaretoken": "a-secret-token"})
    assert answer.status_code == 302
    # Back to the same preview, and the CSRF token is not in the URL (history, logs, Referer).
    assert "repositories=vllm-project%2Fvllm" in answer.url and "csrf" not in answer.url
    (message,) = smtp.messages
    assert message["To"] == "editor@example.com"
    assert str(message["Subject"]).strip().startswith("[Test] AI Infra Daily 2026-01-29 · SGLang, vLLM")
    assert list(parts(message)) == ["text/plain", "text/html"]
    assert Report.objects.get(pk=draft.pk).status == "draft" and not Delivery.objects.exists()
    # Built like a delivery: the same list headers as dispatch sends, and a Message-ID of its own.
    for header in ("List-Id", "List-Unsubscribe", "List-Unsubscribe-Post", "Archived-At", "Auto-Submitted"):
        assert message[header], header
    assert message["Message-ID"].startswith("<") and "test" in message["Message-ID"]


def test_approve_records_who_and_when_and_plans_the_send(editor_client, draft, editor):
    answer = editor_client.post(reverse("admin:newsletter_report_approve", args=[draft.pk]))
    assert answer.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "approved" and draft.approved_by == editor
    assert timezone.now() - draft.approved_at < timedelta(minutes=1)


def test_approve_then_dispatch_sends_and_freezes_the_report(
    editor_client, draft, smtp, django_capture_on_commit_callbacks
):
    subscriber("ada@example.com")
    subscriber("vllm@example.com", "vllm")
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("admin:newsletter_report_approve", args=[draft.pk]))
    # The send time of a past day has passed: approval already queued the dispatch (sync cluster in tests).
    draft.refresh_from_db()
    assert draft.status == "sent"
    assert sorted(smtp.recipients()) == ["ada@example.com", "vllm@example.com"]
    page = editor_client.get(change_url(draft)).content.decode()
    assert 'sent <span data-count="sent">2</span>' in page and "read-only" in page
    assert 'name="statements-0-text"' not in page  # no form fields: view only
    item = ReportItem.objects.filter(report=draft, kind="highlight").first()
    assert 'name="snippets-0-code"' not in editor_client.get(item_url(item)).content.decode()
    statement = draft.statements.first()
    editor_client.post(
        change_url(draft), {"statements-TOTAL_FORMS": "1", "statements-INITIAL_FORMS": "1",
                            "statements-0-id": statement.pk, "statements-0-text": "changed after sending"}
    )  # fmt: skip
    statement.refresh_from_db()
    assert statement.text != "changed after sending"


def test_dispatch_now_needs_an_approved_report(editor_client, draft, smtp):
    subscriber("ada@example.com")
    answer = editor_client.post(reverse("admin:newsletter_report_dispatch", args=[draft.pk]), follow=True)
    assert b"Only an approved report is sent" in answer.content
    assert smtp.count() == 0


def test_a_future_send_time_is_waited_for(editor_client, collected, settings):
    from django_q.models import Schedule

    today = timezone.localdate()
    report = build_report(day=today, language="zh", analyzer="heuristic")  # sent tomorrow morning
    editor_client.post(reverse("admin:newsletter_report_approve", args=[report.pk]))
    (planned,) = Schedule.objects.filter(name=f"ai-infra-daily: dispatch {report.pk}")
    assert planned.next_run.date() == today + timedelta(days=1)
    report.refresh_from_db()
    assert report.status == "approved"


def test_editing_an_approved_report_returns_it_to_draft(editor_client, collected):
    from django_q.models import Schedule

    report = build_report(day=timezone.localdate(), language="zh", analyzer="heuristic")
    editor_client.post(reverse("admin:newsletter_report_approve", args=[report.pk]))
    data = form_payload(editor_client, report)
    data |= {"statements-TOTAL_FORMS": "1", "statements-0-order": "0", "statements-0-text": "An editor's note."}
    editor_client.post(change_url(report), data)
    assert report.statements.get().text == "An editor's note."
    report.refresh_from_db()
    assert report.status == "draft" and report.approved_by is None
    assert not Schedule.objects.filter(name=f"ai-infra-daily: dispatch {report.pk}").exists()


def test_permissions(client, draft, editor, django_user_model):
    stranger = django_user_model.objects.create_user("staff", "staff@example.com", "x", is_staff=True)
    client.force_login(stranger)
    assert client.get(change_url(draft)).status_code == 403
    assert client.post(reverse("admin:newsletter_report_approve", args=[draft.pk])).status_code == 403
    client.force_login(editor)
    assert client.get(change_url(draft)).status_code == 200
    for name in ("subscriber_changelist", "subscriber_import", "subscriber_export"):
        assert client.get(reverse(f"admin:newsletter_{name}")).status_code == 403, name
    assert client.get(reverse("admin:newsletter_delivery_changelist")).status_code == 200


def test_dispatch_now_sends_an_approved_report_before_its_time(
    editor_client, collected, smtp, django_capture_on_commit_callbacks
):
    report = build_report(day=timezone.localdate(), language="zh", analyzer="heuristic")
    editor_client.post(reverse("admin:newsletter_report_approve", args=[report.pk]))
    subscriber("ada@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("admin:newsletter_report_dispatch", args=[report.pk]))
    report.refresh_from_db()
    # Today's collected data is empty in the bundled days: nothing to tell, so nobody is emailed.
    assert report.status == "sent" and smtp.count() == 0
    assert Delivery.objects.get().status == "skipped"


def item_url(item):
    return reverse("admin:newsletter_reportitem_change", args=[item.pk])


def prefix_of(data: dict, start: str, pk: int) -> str:
    """The form prefix ("statements-0", "items-3") of the row `pk` in an inline starting with `start`."""
    return next(
        key[:-3] for key, value in data.items() if key.startswith(start) and key.endswith("-id") and value == pk
    )


def test_statements_are_edited_inline_with_their_citations(editor_client, draft, editor):
    page = editor_client.get(change_url(draft)).content.decode()
    assert "Summary (摘要)" in page and "Conclusions (总结)" in page
    # Citations are picked by search: the page never lists the thousands of commits and issues.
    assert 'data-ajax--url="/admin/autocomplete/"' in page and 'name="statements-0-commits"' in page
    assert page.count("<option") < 200
    statement = draft.statements.get(kind="summary", order=0)
    before = ", ".join(c.short_sha for c in statement.commits.order_by("pk")) or "-"
    cited = Commit.objects.get(sha__startswith="c4e744d")
    issue = Issue.objects.get(number=2440)
    data = form_payload(editor_client, draft)
    prefix = prefix_of(data, "statements", statement.pk)
    data |= {f"{prefix}-lead": "Blackwell 支持", f"{prefix}-text": "两项改动", f"{prefix}-commits": [cited.pk],
             f"{prefix}-issues": [issue.pk]}  # fmt: skip
    # A new conclusion, in the conclusions' inline.
    conclusions = "statements-2"  # the second inline of statements: Django numbers its prefix
    new = int(data[f"{conclusions}-TOTAL_FORMS"])
    data |= {f"{conclusions}-TOTAL_FORMS": new + 1, f"{conclusions}-{new}-order": 9,
             f"{conclusions}-{new}-text": "编辑补充的一句", f"{conclusions}-{new}-commits": [cited.pk]}  # fmt: skip
    answer = editor_client.post(change_url(draft), data)
    assert answer.status_code == 302, answer.context and answer.context.get("errors")

    statement.refresh_from_db()
    assert (statement.lead, statement.text) == ("Blackwell 支持", "两项改动")
    assert list(statement.commits.all()) == [cited] and list(statement.issues.all()) == [issue]
    added = draft.statements.get(text="编辑补充的一句")
    assert added.kind == "conclusion" and list(added.commits.all()) == [cited]
    markdown = render_markdown(draft)
    assert (
        f"- **Blackwell 支持**：两项改动（[`{cited.short_sha}`]({cited.html_url})、[#2440]({issue.html_url})）。"
        in markdown
    )
    assert f"编辑补充的一句（[`{cited.short_sha}`]({cited.html_url})）。" in markdown
    assert "编辑补充的一句" not in render_markdown(draft, ["sgl-project/sglang"])

    history = editor_client.get(change_url(draft)).content.decode()
    table = history[history.index('class="edit-history"') :]
    assert f"report statement {statement.pk}: lead" in table and "Blackwell 支持" in table
    row = table[table.index(f"report statement {statement.pk}: commits") :].split("</tr>")[0]
    assert row.endswith(f"<td>{before}</td><td>{cited.short_sha}</td>")
    # One version for the edit, its citations included, by the editor who made it.
    assert statement.history.count() == 2 and statement.history.first().history_user == editor


def test_autocomplete_finds_commits_and_issues_for_editors(editor_client, draft):
    url = reverse("admin:autocomplete")
    query = {"app_label": "newsletter", "model_name": "reportstatement", "field_name": "commits", "term": "c4e744d"}
    found = editor_client.get(url, query).json()["results"]
    commit = Commit.objects.get(sha__startswith="c4e744d")
    assert [r["id"] for r in found] == [str(commit.pk)]
    found = editor_client.get(url, query | {"field_name": "issues", "term": "2440"}).json()["results"]
    assert [r["id"] for r in found] == [str(Issue.objects.get(number=2440).pk)]


def test_item_fields_are_edited_inline(editor_client, draft):
    item = ReportItem.objects.get(report=draft, kind="highlight", commit__sha__startswith="c4e744d")
    ReportItem.objects.filter(pk=item.pk).update(selection_reason="the day's biggest speedup")
    page = editor_client.get(change_url(draft)).content.decode()
    assert "the day&#x27;s biggest speedup" in page and f'href="{item_url(item)}"' in page
    data = form_payload(editor_client, draft)
    prefix = prefix_of(data, "items", item.pk)
    data |= {f"{prefix}-verdict": "risk", f"{prefix}-verdict_reason": "no benchmark yet",
             f"{prefix}-breaking_surface": "env var `VLLM_X` removed", f"{prefix}-topics": ["api", "hardware"],
             f"{prefix}-selection_reason": "posted, but read-only"}  # fmt: skip
    answer = editor_client.post(change_url(draft), data)
    assert answer.status_code == 302, answer.context and answer.context.get("errors")
    item.refresh_from_db()
    assert (item.verdict, item.verdict_reason) == ("risk", "no benchmark yet")
    assert item.breaking_surface == "env var `VLLM_X` removed"
    assert item.topics == ["hardware", "api"] and item.selection_reason == "the day's biggest speedup"
    assert "**评估**：风险 — no benchmark yet" in render_markdown(draft)
    assert "the day's biggest speedup" not in render_markdown(draft)  # for the editor only

    data = form_payload(editor_client, draft)
    data[f"{prefix_of(data, 'items', item.pk)}-fixed_by"] = item.commit.pk  # a highlight is fixed by nothing
    answer = editor_client.post(change_url(draft), data)
    assert answer.status_code == 200 and "Only an issue is fixed by a commit." in answer.content.decode()


def test_snippets_are_edited_on_the_items_page_and_an_edit_withdraws_approval(editor_client, draft):
    Report.objects.filter(pk=draft.pk).update(status=Report.Status.APPROVED)
    item = ReportItem.objects.get(report=draft, kind="highlight", commit__sha__startswith="c4e744d")
    snippet = item.snippets.get()
    page = editor_client.get(item_url(item))
    assert page.status_code == 200 and 'name="snippets-0-code"' in page.content.decode()
    data = form_payload(editor_client, draft, item_url(item))
    data |= {"snippets-0-note": "the new permute path", "snippets-TOTAL_FORMS": 2, "snippets-1-order": 1,
             "snippets-1-path": "csrc/moe/permute.cu", "snippets-1-language": "cpp", "snippets-1-code": "int x = 1;",
             "snippets-1-note": "the kernel side"}  # fmt: skip
    answer = editor_client.post(item_url(item), data)
    assert answer.status_code == 302 and answer.url == change_url(draft)
    assert [(s.note, s.path) for s in item.snippets.all()] == [
        ("the new permute path", snippet.path), ("the kernel side", "csrc/moe/permute.cu")
    ]  # fmt: skip
    draft.refresh_from_db()
    assert draft.status == Report.Status.DRAFT
    markdown = render_markdown(draft)
    assert "  - **代码细节**：the new permute path\n" in markdown and "    // csrc/moe/permute.cu\n" in markdown
    history = editor_client.get(change_url(draft)).content.decode()
    assert f"item snippet {snippet.pk}: note" in history
    assert ItemSnippet.history.filter(id=snippet.pk).count() == 2
    assert ReportStatement.history.filter(report_id=draft.pk, history_type="~").count() == 0

"""The editor's desk in the admin, with the test client: edit, history, preview, test, approve, dispatch."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from newsletter.build import build_report
from newsletter.models import Delivery, Report, ReportItem
from tests.mailing import parts, subscriber

pytestmark = pytest.mark.django_db
DAY = date(2026, 1, 29)


@pytest.fixture
def draft(collected):
    return build_report(day=DAY, language="zh", analyzer="heuristic")


def change_url(report):
    return reverse("admin:newsletter_report_change", args=[report.pk])


def form_payload(client, report) -> dict:
    """The change form as the browser would submit it, unchanged."""
    page = client.get(change_url(report))
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
    assert 'name="summary"' not in page  # no form fields: view only
    before = draft.summary
    editor_client.post(change_url(draft), {"summary": "changed after sending"})
    draft.refresh_from_db()
    assert draft.summary == before


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
    data["summary"] = report.summary + "\n- An editor's note."
    editor_client.post(change_url(report), data)
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

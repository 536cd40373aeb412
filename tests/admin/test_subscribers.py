"""Subscribers in the admin (superusers only): filters, CSV import with a dry run, CSV export."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from newsletter.models import Repository, Subscriber

pytestmark = pytest.mark.django_db

GITHUB = {"host": "github.com"}  # the repository form's host, as its select sends it

CSV = """email,repositories,language,format,consented
ada@example.com,vllm-project/vllm;SGLang,en,markdown,yes
Bob@Example.com,,zh,html,no
not-an-address,,,,
carol@example.com,no/such-repo,zh,html,no
ADA@example.com,FlashInfer,en,markdown,no
known@example.com,,,,yes
dave@example.com,,fr,html,no
"""


@pytest.fixture(autouse=True)
def _english_admin(settings):
    """These tests are about what the admin does, not its wording: they read it in English. The
    admin in the site's language (Chinese by default) is tested in test_translations."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def admin(client, admin_user):
    admin_user.email = "root@example.com"
    admin_user.save()
    client.force_login(admin_user)
    return client


def test_the_dry_run_reports_every_row_and_saves_nothing(admin):
    Subscriber.objects.create(email="known@example.com", status="active")
    upload = SimpleUploadedFile("list.csv", CSV.encode(), content_type="text/csv")
    page = admin.post(reverse("admin:newsletter_subscriber_import"), {"file": upload, "send_confirmations": "on"})
    assert page.status_code == 200
    rows = {row.line: row for row in page.context["rows"]}
    assert rows[2].outcome == "new" and rows[2].email == "ada@example.com"
    assert rows[3].outcome == "new" and rows[3].email == "bob@example.com"
    assert rows[4].outcome == "invalid" and "not an email address" in rows[4].notes[0]
    assert rows[5].outcome == "invalid" and "unknown repository 'no/such-repo'" in rows[5].notes[0]
    assert rows[6].outcome == "merged" and "line 2" in rows[6].notes[0]
    assert [r.name for r in rows[2].repositories] == ["vllm", "sglang", "flashinfer"]  # merged in
    assert rows[7].outcome == "exists"
    assert rows[8].outcome == "invalid" and "language must be zh or en" in rows[8].notes[0]
    assert page.context["summary"] == {"new": 2, "invalid": 3, "merged": 1, "exists": 1}
    assert Subscriber.objects.count() == 1


def test_confirming_imports_and_asks_for_confirmation_without_prior_consent(admin, smtp):
    Subscriber.objects.create(email="known@example.com", status="active")
    url = reverse("admin:newsletter_subscriber_import")
    answer = admin.post(url, {"text": CSV, "send_confirmations": "on", "confirm": "1"})
    assert answer.status_code == 302
    ada = Subscriber.objects.get(email="ada@example.com")
    assert ada.status == "active" and ada.confirmed_at and "consent was given before" in ada.consent_text
    assert (ada.language, ada.format, ada.repositories.count()) == ("en", "markdown", 3)
    bob = Subscriber.objects.get(email="bob@example.com")
    assert bob.status == "pending"
    assert smtp.recipients() == ["bob@example.com"]  # only the one without consent gets a confirmation link
    assert Subscriber.objects.count() == 3


def test_a_file_without_an_email_column_is_a_clear_error(admin):
    upload = SimpleUploadedFile("bad.csv", b"name,address\nx,y\n")
    page = admin.post(reverse("admin:newsletter_subscriber_import"), {"file": upload})
    assert b"one of them must be &#x27;email&#x27;" in page.content or b"must be 'email'" in page.content
    assert not Subscriber.objects.exists()


def test_export(admin):
    person = Subscriber.objects.create(email="ada@example.com", status="active", language="en")
    person.repositories.set(Repository.objects.filter(name="vllm"))
    response = admin.get(reverse("admin:newsletter_subscriber_export"))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["email", "status", "repositories"]
    assert rows[1][:5] == ["ada@example.com", "active", "vllm-project/vllm", "en", "html"]


def test_export_neutralizes_cells_a_spreadsheet_would_run_and_import_takes_it_back(admin):
    Subscriber.objects.create(email="=cmd|'/c calc'!a0@example.com", status="active")
    Subscriber.objects.create(email="+1@example.com", status="active")
    response = admin.get(reverse("admin:newsletter_subscriber_export"))
    exported = b"".join(response.streaming_content).decode()
    emails = sorted(row[0] for row in list(csv.reader(io.StringIO(exported)))[1:])
    assert emails == ["'+1@example.com", "'=cmd|'/c calc'!a0@example.com"]
    Subscriber.objects.all().delete()
    upload = SimpleUploadedFile("back.csv", exported.encode(), content_type="text/csv")
    page = admin.post(reverse("admin:newsletter_subscriber_import"), {"file": upload})
    assert sorted(row.email for row in page.context["rows"]) == ["+1@example.com", "=cmd|'/c calc'!a0@example.com"]


def test_filters_and_search(admin):
    Subscriber.objects.create(email="ada@example.com", status="active", language="en")
    Subscriber.objects.create(email="bob@example.com", status="pending")
    url = reverse("admin:newsletter_subscriber_changelist")
    assert admin.get(url, {"status__exact": "active"}).context["cl"].result_count == 1
    assert admin.get(url, {"language__exact": "zh"}).context["cl"].result_count == 1
    assert admin.get(url, {"q": "bob"}).context["cl"].result_count == 1


def test_adding_a_repository_checks_github(admin, replay):
    url = reverse("admin:newsletter_repository_add")
    added = admin.post(
        url, {**GITHUB, "owner": "vllm-project", "name": "vllm", "display_name": "", "enabled": "on", "order": 5}
    )
    assert b"is tracked already" in added.content, added.context["adminform"].form.errors
    Repository.objects.filter(name="vllm").delete()
    added = admin.post(
        url, {**GITHUB, "owner": "vllm-project", "name": "vllm", "display_name": "", "enabled": "on", "order": 5}
    )
    assert added.status_code == 302
    repository = Repository.objects.get(name="vllm")
    assert repository.default_branch == "main" and repository.display_name == "vllm"
    missing = admin.post(url, {**GITHUB, "owner": "acme", "name": "nothing", "display_name": "", "order": 5})
    assert b"github.com: acme/nothing: the repository: not found on GitHub" in missing.content
    assert not Repository.objects.filter(owner="acme").exists()


@pytest.fixture
def delivery(db):
    from datetime import date

    from newsletter.models import Delivery, Report

    report = Report.objects.create(date=date(2026, 1, 29), language="zh", status="sent")
    person = Subscriber.objects.create(email="ada@example.com", status="active")
    return Delivery.objects.create(
        report=report,
        subscriber=person,
        status="failed",
        message_id="<issue-1.s1@example.com>",
        last_error="550 5.1.1 <ada@example.com>: Recipient address rejected",
    )


def test_editors_review_deliveries_without_seeing_addresses(editor_client, delivery):
    changelist = reverse("admin:newsletter_delivery_changelist")
    page = editor_client.get(changelist)
    assert page.status_code == 200 and "failed" in page.content.decode()
    assert "ada@example.com" not in page.content.decode()
    # No search by address: it would tell an editor who subscribes.
    for term in ("ada@example.com", "nobody@example.com"):
        assert editor_client.get(changelist, {"q": term}).context["cl"].result_count == 1
    detail = editor_client.get(reverse("admin:newsletter_delivery_change", args=[delivery.pk]))
    assert detail.status_code == 200 and "ada@example.com" not in detail.content.decode()
    assert "Recipient address rejected" in detail.content.decode()
    complete = editor_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "newsletter", "model_name": "delivery", "field_name": "subscriber", "term": "ada"},
    )
    assert complete.status_code == 403


def test_superusers_see_and_search_addresses(admin, delivery):
    changelist = reverse("admin:newsletter_delivery_changelist")
    assert "ada@example.com" in admin.get(changelist).content.decode()
    assert admin.get(changelist, {"q": "nobody@example.com"}).context["cl"].result_count == 0
    detail = admin.get(reverse("admin:newsletter_delivery_change", args=[delivery.pk])).content.decode()
    assert "ada@example.com" in detail


@pytest.mark.parametrize(
    ("owner", "name"), [("../admin", "x"), ("acme", "a b"), ("acme", "x?per_page=1"), ("-acme", "x"), ("acme", "..")]
)
def test_a_repository_name_github_could_not_have_is_refused_before_any_request(admin, replay, owner, name):
    url = reverse("admin:newsletter_repository_add")
    answer = admin.post(url, {**GITHUB, "owner": owner, "name": name, "display_name": "", "enabled": "on", "order": 5})
    assert answer.status_code == 200 and answer.context["adminform"].form.errors
    assert replay.state.log == [] and not Repository.objects.filter(owner=owner).exists()


def test_a_repository_on_a_host_no_source_reads_is_refused(admin, replay):
    url = reverse("admin:newsletter_repository_add")
    data = {"host": "gitlab.example.com", "owner": "acme", "name": "tool", "display_name": "", "order": 5}
    answer = admin.post(url, data)
    assert answer.context["adminform"].form.errors["host"] == [
        "No source reads gitlab.example.com; a repository can be on github.com."
    ]
    assert replay.state.log == [] and not Repository.objects.filter(owner="acme").exists()


def test_a_display_name_cannot_forge_a_mail_header(admin, replay):
    vllm = Repository.objects.get(name="vllm")
    url = reverse("admin:newsletter_repository_change", args=[vllm.pk])
    data = {
        **GITHUB,
        "owner": vllm.owner,
        "name": vllm.name,
        "display_name": "vLLM\r\nBcc: everyone@example.com",
        "order": 1,
    }
    answer = admin.post(url, {**data, "enabled": "on"})
    assert answer.status_code == 200 and "display_name" in answer.context["adminform"].form.errors
    assert Repository.objects.get(pk=vllm.pk).display_name == "vLLM"

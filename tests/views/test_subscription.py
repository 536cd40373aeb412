"""Subscribe, confirm, preferences and unsubscribe, end to end over HTTP and a real SMTP server."""

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from newsletter import tokens
from newsletter.models import Repository, Subscriber
from newsletter.tokens import make_token

pytestmark = pytest.mark.django_db


def form_data(email="ada@example.com", **extra):
    data = {
        "email": email,
        "repositories": [r.pk for r in Repository.objects.filter(name__in=["vllm", "sglang"])],
        "language": "en",
        "format": "html",
        "consent": "on",
        "website": "",
    }
    return {**data, **extra}


def link_in(message, path):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(rf"http://127\.0\.0\.1:8000(/{path}/[^/\s]+/)", text).group(1)


def test_the_form_offers_every_enabled_repository(client):
    page = client.get("/subscribe/").content.decode()
    for name in ("vllm-project/vllm", "sgl-project/sglang", "flashinfer-ai/flashinfer"):
        assert name in page
    assert page.count('type="checkbox" name="repositories"') == 3 and page.count("checked") >= 3
    assert 'name="website"' in page and 'class="trap"' in page


def test_the_form_is_in_the_language_the_page_asks_for_and_so_is_the_consent_kept(client, smtp):
    """`/?lang=en` on a Chinese site: an English form that posts in English, and the English consent
    is the one recorded; the site's own language needs no `?lang=`."""
    home = client.get("/?lang=en").content.decode()
    assert 'action="/subscribe/?lang=en"' in home and "I agree to receive AI Infra Daily" in home
    assert '<option value="en" selected>' in home  # the language a reader of this page most likely wants
    assert 'href="/subscribe/?lang=en"' in home  # the navigation stays in it too
    assert "我同意" not in home
    page = client.get("/subscribe/?lang=en").content.decode()
    assert 'action="/subscribe/?lang=en"' in page and "Subscribe to AI Infra Daily" in page
    answer = client.post("/subscribe/?lang=en", form_data())
    assert answer.status_code == 200 and "请查收邮件" not in answer.content.decode()
    assert Subscriber.objects.get().consent_text.startswith("I agree to receive AI Infra Daily")
    site = client.get("/").content.decode()
    assert 'action="/subscribe/"' in site and "我同意" in site and '<option value="zh" selected>' in site


def test_subscribe_confirm_preferences_unsubscribe(client, smtp):
    answer = client.post("/subscribe/", form_data())
    assert answer.status_code == 200 and "请查收邮件" in answer.content.decode()
    person = Subscriber.objects.get()
    assert person.status == "pending" and person.source_ip == "127.0.0.1" and person.consent_text
    assert sorted(r.name for r in person.repositories.all()) == ["sglang", "vllm"] and person.language == "en"
    (message,) = smtp.messages
    assert message["To"] == "ada@example.com"
    confirm = link_in(message, "confirm")

    page = client.get(confirm)  # a link scanner's GET changes nothing
    assert page.status_code == 200 and b'method="post"' in page.content and b"noindex" in page.content
    assert Subscriber.objects.get().status == "pending"
    assert client.post(confirm).status_code == 200
    person.refresh_from_db()
    assert person.status == "active" and person.confirmed_at

    preferences = reverse("preferences", args=[make_token(person, "preferences")])
    assert b"ada@example.com" in client.get(preferences).content
    saved = client.post(preferences, {"repositories": [], "language": "zh", "format": "markdown"})
    assert saved.status_code == 200
    person.refresh_from_db()
    assert (person.language, person.format, person.repositories.count()) == ("zh", "markdown", 0)

    unsubscribe = reverse("unsubscribe", args=[make_token(person, "unsubscribe")])
    assert client.get(unsubscribe).status_code == 200
    assert Subscriber.objects.get().status == "active"
    assert client.post(unsubscribe).status_code == 200
    assert Subscriber.objects.get().status == "unsubscribed"


def test_one_click_unsubscribe_needs_no_cookie_and_no_csrf(smtp):
    person = Subscriber.objects.create(email="ada@example.com", status="active")
    strict = Client(enforce_csrf_checks=True)
    url = reverse("unsubscribe", args=[make_token(person, "unsubscribe")])
    answer = strict.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200 and answer.content == b"Unsubscribed.\n"
    person.refresh_from_db()
    assert person.status == "unsubscribed" and person.unsubscribed_at


@pytest.mark.parametrize("purpose", ["confirm", "preferences", "unsubscribe"])
def test_tampered_and_wrong_purpose_tokens_are_a_400_and_change_nothing(client, purpose):
    person = Subscriber.objects.create(email="ada@example.com", status="pending")
    token = make_token(person, purpose)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    other = make_token(person, "confirm" if purpose != "confirm" else "unsubscribe")
    for bad in (tampered, other, "garbage", token.replace(":", "")):
        url = reverse(purpose, args=[bad])
        for answer in (client.get(url), client.post(url, {"language": "en", "format": "html"})):
            assert answer.status_code == 400 and b"noindex" in answer.content
    person.refresh_from_db()
    assert person.status == "pending" and person.language == "zh"


def test_an_expired_confirmation_is_a_400(client, monkeypatch):
    person = Subscriber.objects.create(email="ada@example.com")
    token = make_token(person, "confirm")
    monkeypatch.setitem(tokens.MAX_AGE, "confirm", timedelta(seconds=-1))
    assert client.post(reverse("confirm", args=[token])).status_code == 400
    assert Subscriber.objects.get().status == "pending"


def test_a_token_dies_with_a_changed_address(client):
    person = Subscriber.objects.create(email="ada@example.com", status="active")
    token = make_token(person, "unsubscribe")
    person.email = "lovelace@example.com"
    person.save()
    assert client.post(reverse("unsubscribe", args=[token])).status_code == 400


def test_an_unsubscribe_link_from_an_older_email_still_works(client):
    """Links used to be signed asking for compression; those in emails already sent keep working."""
    person = Subscriber.objects.create(email="ada@example.com", status="active")
    payload = [person.pk, tokens._fingerprint(person), int(timezone.now().timestamp())]
    old = signing.dumps(payload, salt="newsletter.unsubscribe", compress=True)
    assert client.post(reverse("unsubscribe", args=[old])).status_code == 200
    assert Subscriber.objects.get().status == "unsubscribed"


def test_the_answer_is_the_same_for_a_known_address(client, smtp):
    Subscriber.objects.create(email="ada@example.com", status="active")
    fresh = client.post("/subscribe/", form_data("new@example.com"))
    known = client.post("/subscribe/", form_data("ADA@Example.com"))
    assert fresh.status_code == known.status_code == 200
    assert fresh.content == known.content
    assert Subscriber.objects.count() == 2 and Subscriber.objects.get(email="ada@example.com").status == "active"
    reminder = next(m for m in smtp.messages if m["To"] == "ada@example.com")
    assert "/preferences/" in reminder.get_body(preferencelist=("plain",)).get_content()


def test_the_confirmation_email_carries_nothing_the_visitor_typed(client, smtp):
    client.post("/subscribe/", form_data("ada@example.com", website="", language="en"))
    (message,) = smtp.messages
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "ada@example.com" in body
    smtp.reset()
    client.post("/subscribe/", form_data("eve@example.com", language="<script>x</script>"))
    assert smtp.count() == 0  # an invalid form sends nothing


def test_the_honeypot_does_nothing_but_looks_the_same(client, smtp):
    trapped = client.post("/subscribe/", form_data(website="http://spam.example"))
    assert trapped.status_code == 200 and not Subscriber.objects.exists() and smtp.count() == 0


def test_a_per_ip_rate_limit(client, smtp, settings):
    settings.SUBSCRIBE_LIMIT_PER_HOUR = 3
    statuses = [client.post("/subscribe/", form_data(f"p{n}@example.com")).status_code for n in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    assert Subscriber.objects.count() == 3


def test_invalid_submissions_do_not_spend_the_limit(client, smtp, settings):
    settings.SUBSCRIBE_LIMIT_PER_HOUR = 2
    for _ in range(3):
        assert client.post("/subscribe/", form_data("typo@")).status_code == 400
    assert [client.post("/subscribe/", form_data(f"p{n}@example.com")).status_code for n in range(3)] == [200, 200, 429]


def test_without_trusted_proxies_a_forwarded_header_is_ignored(client, smtp, settings):
    settings.SUBSCRIBE_LIMIT_PER_HOUR = 2
    # A client rotating X-Forwarded-For must not get a fresh allowance each time.
    statuses = [
        client.post("/subscribe/", form_data(f"p{n}@example.com"), HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert set(Subscriber.objects.values_list("source_ip", flat=True)) == {"127.0.0.1"}


def test_behind_a_trusted_proxy_the_client_is_the_address_it_saw(client, smtp, settings):
    settings.SUBSCRIBE_LIMIT_PER_HOUR = 2
    settings.TRUSTED_PROXY_COUNT = 1

    def post(n: int, forwarded: str) -> int:
        return client.post(
            "/subscribe/", form_data(f"p{n}@example.com"), HTTP_X_FORWARDED_FOR=forwarded, REMOTE_ADDR="10.9.9.9"
        ).status_code

    # The proxy appends the real client (203.0.113.7); what the client wrote itself is further left.
    assert [post(n, f"198.51.100.{n}, 203.0.113.7") for n in range(3)] == [200, 200, 429]
    assert post(3, "203.0.113.8") == 200  # someone else behind the same proxy has their own allowance
    assert Subscriber.objects.get(email="p0@example.com").source_ip == "203.0.113.7"
    # No header, or nonsense in it: counted against the proxy's own address, never a crash.
    assert [post(4, ""), post(5, "not-an-ip"), post(6, "")] == [200, 200, 429]


def test_bad_form_input_is_shown_and_nothing_is_stored(client, smtp):
    answer = client.post("/subscribe/", form_data("not-an-address"))
    assert answer.status_code == 400 and not Subscriber.objects.exists() and smtp.count() == 0
    no_consent = form_data()
    no_consent.pop("consent")
    assert client.post("/subscribe/", no_consent).status_code == 400


def test_one_confirmation_email_per_address_per_window(client, smtp):
    for _ in range(3):
        client.post("/subscribe/", form_data())
    assert smtp.count() == 1


def test_a_mail_server_outage_is_a_clear_503(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9
    answer = client.post("/subscribe/", form_data())
    assert answer.status_code == 503


@pytest.mark.parametrize("leave", ["unsubscribe", "bounce"])
def test_an_old_confirmation_link_does_not_bring_back_someone_who_left(client, smtp, leave):
    client.post("/subscribe/", form_data())
    confirm = link_in(smtp.messages[0], "confirm")
    assert client.post(confirm).status_code == 200
    person = Subscriber.objects.get()
    if leave == "unsubscribe":
        client.post(reverse("unsubscribe", args=[make_token(person, "unsubscribe")]))
    else:
        person.set_status(Subscriber.Status.BOUNCED)
        person.save()
    # Issued before they left: spent, even though it is signed and not expired.
    answer = client.post(confirm)
    assert answer.status_code == 400
    assert Subscriber.objects.get().status == ("unsubscribed" if leave == "unsubscribe" else "bounced")


def test_subscribing_again_sends_a_link_that_works(client, smtp, monkeypatch):
    import time

    person = Subscriber.objects.create(email="ada@example.com", status="active")
    person.unsubscribe()
    Subscriber.objects.update(status_changed_at=timezone.now() - timedelta(seconds=10))
    now = time.time()
    with monkeypatch.context() as patched:
        patched.setattr("newsletter.tokens.time.time", lambda: now - 5)
        old = make_token(person, "confirm")  # issued after they left, before they came back
    client.post("/subscribe/", form_data())
    new = link_in(smtp.messages[0], "confirm")
    assert client.post(reverse("confirm", args=[old])).status_code == 400
    assert Subscriber.objects.get().status == "pending"
    assert client.post(new).status_code == 200
    assert Subscriber.objects.get().status == "active"


ODD_PAYLOADS = [["abc", "x"], [[1], "x"], [10**30, "x"], ["1", "abc"], [1], {"pk": 1}, [1, "abc", "soon"], "x", None]


@pytest.mark.parametrize("payload", ODD_PAYLOADS)
def test_a_well_signed_but_odd_token_is_a_400(client, payload):
    from django.core import signing

    Subscriber.objects.create(email="ada@example.com", status="pending")
    for purpose in ("confirm", "preferences", "unsubscribe"):
        token = signing.dumps(payload, salt=f"newsletter.{purpose}", compress=True)
        assert client.get(reverse(purpose, args=[token])).status_code == 400
        assert client.post(reverse(purpose, args=[token])).status_code == 400

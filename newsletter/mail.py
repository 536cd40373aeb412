"""Build the emails we send (pure: no sending here): a report delivery, a confirmation request.

Every report email is multipart/alternative (the Markdown as text/plain, the compiled HTML) for
HTML subscribers and text/plain for Markdown ones, with List-Unsubscribe (https, and mailto when
an operator mailbox is configured), List-Unsubscribe-Post for RFC 8058 one-click, List-Id, a
stable Message-ID per delivery, Auto-Submitted and Archived-At (the issue's web page).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.template.loader import render_to_string
from django.urls import reverse

from newsletter.audience import Variant
from newsletter.models import Delivery, Report, ReportVariant, Subscriber
from newsletter.render.email import PREFERENCES_URL, UNSUBSCRIBE_URL, personalize, render_email
from newsletter.render.markdown import report_url
from newsletter.tokens import make_token


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def link_for(subscriber: Subscriber, purpose: str) -> str:
    return Links().url(subscriber, purpose)[1]


def list_id() -> str:
    return f"AI Infra Daily <ai-infra-daily.{site_host()}>"


def message_id(report: Report, subscriber: Subscriber) -> str:
    """Stable for a (report, subscriber): a retried send carries the same id, so relays can de-duplicate."""
    before, after = message_id_around(report)
    return f"{before}{subscriber.pk}{after}"


def message_id_around(report: Report) -> tuple[str, str]:
    """What comes before and after the subscriber's id in a Message-ID (the database writes them too)."""
    return f"<issue-{report.date:%Y%m%d}-{report.language}-{report.pk}.s", f"@{site_host()}>"


@dataclass(frozen=True)
class PersonalLinks:
    """A subscriber's own links, signed for them: what differs between two copies of a variant."""

    unsubscribe_token: str
    unsubscribe_url: str
    preferences_url: str

    def substitute(self, content: str) -> str:
        return personalize(content, unsubscribe_url=self.unsubscribe_url, preferences_url=self.preferences_url)


class Links:
    """Subscribers' signed links, each purpose's URL resolved once: a dispatch makes two links a
    copy, and resolving a URL costs as much as signing its token. A token is URL-safe Base64 and
    colons, which the path keeps as they are, so the URL is what comes around any one token."""

    MARK = "TOKEN"

    def __init__(self):
        self.around: dict[str, tuple[str, str]] = {}

    def url(self, subscriber: Subscriber, purpose: str) -> tuple[str, str]:
        """(token, absolute URL) of the subscriber's link for this purpose."""
        token = make_token(subscriber, purpose)
        if purpose not in self.around:
            before, _, after = absolute(reverse(purpose, args=[self.MARK])).rpartition(self.MARK)
            self.around[purpose] = before, after
        before, after = self.around[purpose]
        return token, before + token + after

    def personal(self, subscriber: Subscriber) -> PersonalLinks:
        token, unsubscribe_url = self.url(subscriber, "unsubscribe")
        return PersonalLinks(token, unsubscribe_url, self.url(subscriber, "preferences")[1])


def personal_links(subscriber: Subscriber) -> PersonalLinks:
    return Links().personal(subscriber)


def list_unsubscribe(links: PersonalLinks) -> str:
    """The https link always; a mailto: only when an operator mailbox is configured to act on it."""
    entries = [f"<{links.unsubscribe_url}>"]
    if settings.UNSUBSCRIBE_MAILTO:
        entries.append(
            f"<mailto:{settings.UNSUBSCRIBE_MAILTO}?subject={quote('unsubscribe ' + links.unsubscribe_token)}>"
        )
    return ", ".join(entries)


def report_headers(report: Report) -> dict[str, str]:
    """The headers every copy of the report carries (beside From, To, Subject, Date, Message-ID and
    List-Unsubscribe)."""
    return {
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id(),
        "Auto-Submitted": "auto-generated",
        "Archived-At": f"<{report_url(report)}>",
        "Precedence": "bulk",
    }


def report_email(
    *, delivery: Delivery, variant: ReportVariant, subscriber: Subscriber, links: PersonalLinks | None = None
) -> EmailMultiAlternatives:
    """The email as Django builds it. Dispatch over SMTP sends the same message pre-encoded
    (`newsletter.encoded_mail`); this one serves the other mail backends and is what that is checked against."""
    links = links or personal_links(subscriber)
    headers = {
        "Message-ID": delivery.message_id,
        "List-Unsubscribe": list_unsubscribe(links),
        **report_headers(delivery.report),
    }
    message = EmailMultiAlternatives(
        subject=variant.subject,
        body=links.substitute(variant.text),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers=headers,
    )
    if variant.html:
        message.attach_alternative(links.substitute(variant.html), "text/html")
    return message


def test_email(
    report: Report, variant: Variant, *, to: str, subscriber: Subscriber | None = None
) -> EmailMultiAlternatives:
    """A copy of `variant` for an editor, built by `report_email` like every delivery: the same
    headers and links (a subscriber's own when previewing as them, else the placeholders the
    preview shows), a subject marked as a test and a Message-ID of its own."""
    rendered = render_email(report, variant)
    copy = ReportVariant(report=report, key=variant.key, subject=f"[Test] {rendered.subject}", text=rendered.text,
                         html=rendered.html)  # fmt: skip
    delivery = Delivery(report=report, message_id=make_msgid("test", domain=site_host()))
    links = personal_links(subscriber) if subscriber else PersonalLinks("", UNSUBSCRIBE_URL, PREFERENCES_URL)
    message = report_email(delivery=delivery, variant=copy, subscriber=subscriber or Subscriber(email=to), links=links)
    message.to = [to]
    return message


def confirmation_email(subscriber: Subscriber) -> EmailMultiAlternatives:
    """Only the address and our own link: nothing else the visitor typed goes into it."""
    return _simple_email(subscriber, "confirm", {"confirm_url": link_for(subscriber, "confirm")})


def already_subscribed_email(subscriber: Subscriber) -> EmailMultiAlternatives:
    return _simple_email(subscriber, "already_subscribed", {"preferences_url": link_for(subscriber, "preferences")})


def _simple_email(subscriber: Subscriber, name: str, context: dict) -> EmailMultiAlternatives:
    context = {**context, "language": subscriber.language, "email": subscriber.email}
    subject = render_to_string(f"emails/{name}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string(f"emails/{name}.html", context), "text/html")
    return message

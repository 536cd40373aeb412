"""Build the emails we send (pure: no sending here): a report delivery, a confirmation request.

Every report email is multipart/alternative (the Markdown as text/plain, the compiled HTML) for
HTML subscribers and text/plain for Markdown ones, with List-Unsubscribe (https, and mailto when
an operator mailbox is configured), List-Unsubscribe-Post for RFC 8058 one-click, List-Id, a
stable Message-ID per delivery, Auto-Submitted and Archived-At (the issue's web page).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from newsletter.models import Delivery, Report, ReportVariant, Subscriber
from newsletter.render.email import personalize
from newsletter.render.markdown import report_url
from newsletter.tokens import make_token


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def absolute(path: str) -> str:
    return settings.SITE_URL + path


def link_for(subscriber: Subscriber, purpose: str) -> str:
    return absolute(reverse(purpose, args=[make_token(subscriber, purpose)]))


def list_id() -> str:
    return f"AI Infra Daily <ai-infra-daily.{site_host()}>"


def message_id(report: Report, subscriber: Subscriber) -> str:
    """Stable for a (report, subscriber): a retried send carries the same id, so relays can de-duplicate."""
    return f"<issue-{report.date:%Y%m%d}-{report.language}-{report.pk}.s{subscriber.pk}@{site_host()}>"


def list_unsubscribe(unsubscribe_url: str, token: str) -> str:
    """The https link always; a mailto: only when an operator mailbox is configured to act on it."""
    links = [f"<{unsubscribe_url}>"]
    if settings.UNSUBSCRIBE_MAILTO:
        links.append(f"<mailto:{settings.UNSUBSCRIBE_MAILTO}?subject={quote('unsubscribe ' + token)}>")
    return ", ".join(links)


def report_email(*, delivery: Delivery, variant: ReportVariant, subscriber: Subscriber) -> EmailMultiAlternatives:
    unsubscribe_token = make_token(subscriber, "unsubscribe")
    unsubscribe_url = absolute(reverse("unsubscribe", args=[unsubscribe_token]))
    preferences_url = link_for(subscriber, "preferences")
    links = {"unsubscribe_url": unsubscribe_url, "preferences_url": preferences_url}
    headers = {
        "Message-ID": delivery.message_id,
        "List-Unsubscribe": list_unsubscribe(unsubscribe_url, unsubscribe_token),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": list_id(),
        "Auto-Submitted": "auto-generated",
        "Archived-At": f"<{report_url(delivery.report)}>",
        "Precedence": "bulk",
    }
    message = EmailMultiAlternatives(
        subject=variant.subject,
        body=personalize(variant.text, **links),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers=headers,
    )
    if variant.html:
        message.attach_alternative(personalize(variant.html, **links), "text/html")
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

"""Subscribe (double opt-in), confirm, preferences and unsubscribe (with RFC 8058 one-click).

Link scanners open every link in an email with GET, so no GET changes anything: confirm and
unsubscribe show a page whose button POSTs. The subscribe page answers the same whether or not
the address is known, so it cannot be used to find out who subscribes.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from newsletter.forms import CONSENT, PreferencesForm, SubscribeForm
from newsletter.languages import in_page_language, language_of, rendered_in
from newsletter.mail import already_subscribed_email, confirmation_email, link_for
from newsletter.models import Subscriber, normalize_email
from newsletter.tokens import BadToken, read_token

logger = logging.getLogger(__name__)
CONFIRMATION_RESEND_SECONDS = 600  # at most one confirmation email per address per 10 minutes


def client_ip(request: HttpRequest) -> str:
    """The visitor's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front, the address
    the outermost of them saw. Each proxy appends the address it was connected from to
    X-Forwarded-For, so only the last TRUSTED_PROXY_COUNT entries were written by proxies we trust;
    anything further left is whatever the client sent, and is never believed."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    chain = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(chain) < proxies:
        return remote  # fewer hops than configured: the proxies are not set up as documented
    try:
        return str(ipaddress.ip_address(chain[-proxies]))
    except ValueError:
        return remote


def _over_limit(request: HttpRequest) -> bool:
    key = f"subscribe-ip:{client_ip(request)}"
    cache.add(key, 0, timeout=3600)
    try:
        return cache.incr(key) > settings.SUBSCRIBE_LIMIT_PER_HOUR
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        return False


def in_site_language(view):
    """The pages a link in an email opens are in the site's language (REPORT_LANGUAGE), whatever
    language the process has active."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        with rendered_in(settings.REPORT_LANGUAGE):
            return view(request, *args, **kwargs)

    return wrapper


def bad_link(request: HttpRequest) -> HttpResponse:
    return render(request, "pages/bad_link.html", status=400)


@in_page_language  # the consent is recorded in the words the visitor was shown
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "pages/subscribe.html", {"form": SubscribeForm(language=language_of(request))})
    form = SubscribeForm(request.POST)
    if form.is_bot:
        return render(request, "pages/check_inbox.html")  # the same answer a person gets, and nothing done
    # Only valid submissions count: a visitor correcting a typo is not spending their allowance.
    if not form.is_valid():
        return render(request, "pages/subscribe.html", {"form": form}, status=400)
    if _over_limit(request):
        return render(request, "pages/subscribe.html", {"form": form, "limited": True}, status=429)
    try:
        subscribe_address(form.cleaned_data, ip=client_ip(request))
    except (smtplib.SMTPException, OSError):
        logger.exception("could not send the confirmation email")
        return render(request, "pages/subscribe.html", {"form": form, "mail_down": True}, status=503)
    return render(request, "pages/check_inbox.html")


def subscribe_address(data: dict, *, ip: str) -> None:
    """Create or refresh a pending subscription and email its confirmation link (or a reminder)."""
    email = normalize_email(data["email"])
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
        if subscriber and subscriber.status == Subscriber.Status.ACTIVE:
            message = already_subscribed_email(subscriber)
        else:
            subscriber = subscriber or Subscriber(email=email)
            subscriber.set_status(Subscriber.Status.PENDING)
            subscriber.language = data["language"]
            subscriber.format = data["format"]
            subscriber.consent_text = str(CONSENT)
            subscriber.source_ip = ip or None
            subscriber.created_at = subscriber.created_at or timezone.now()
            subscriber.save()
            subscriber.repositories.set(data["repositories"])
            message = confirmation_email(subscriber)
    # One email per address per window: the form must not become a way to flood someone's inbox.
    if cache.add(f"subscribe-mail:{email}", 1, timeout=CONFIRMATION_RESEND_SECONDS):
        message.send()


def token_view(purpose: str):
    """The view gets the subscriber the signed token names; a bad or expired token gets a 400 page."""

    def decorate(view):
        @wraps(view)
        def wrapper(request: HttpRequest, token: str) -> HttpResponse:
            try:
                subscriber = read_token(token, purpose)
            except BadToken:
                return bad_link(request)
            return view(request, subscriber)

        return require_http_methods(["GET", "POST"])(wrapper)

    return decorate


@in_site_language
@token_view("confirm")
def confirm(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "GET":
        return render(request, "pages/confirm.html", {"subscriber": subscriber})
    if subscriber.status == Subscriber.Status.PENDING:
        subscriber.confirm()
    elif subscriber.status != Subscriber.Status.ACTIVE:
        return bad_link(request)  # unsubscribed or bounced: only a new subscription brings them back
    return render(request, "pages/confirmed.html", {"preferences_url": link_for(subscriber, "preferences")})


@in_site_language
@token_view("preferences")
def preferences(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    form = PreferencesForm.for_subscriber(subscriber, request.POST if request.method == "POST" else None)
    context = {"form": form, "subscriber": subscriber, "unsubscribe_url": link_for(subscriber, "unsubscribe")}
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "pages/preferences.html", context, status=400)
        subscriber.language = form.cleaned_data["language"]
        subscriber.format = form.cleaned_data["format"]
        subscriber.save(update_fields=["language", "format"])
        subscriber.repositories.set(form.cleaned_data["repositories"])
        context["saved"] = True
    return render(request, "pages/preferences.html", context)


@csrf_exempt  # RFC 8058: mail clients POST without cookies; the signed token is the credential
@in_site_language
@token_view("unsubscribe")
def unsubscribe(request: HttpRequest, subscriber: Subscriber) -> HttpResponse:
    if request.method == "GET":
        return render(request, "pages/unsubscribe.html", {"subscriber": subscriber})
    subscriber.unsubscribe()
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return HttpResponse("Unsubscribed.\n", content_type="text/plain; charset=utf-8")
    return render(request, "pages/unsubscribed.html")

"""Signed, expiring tokens for the links in our emails (confirm, preferences, unsubscribe).

A token names the subscriber and a hash of their address, signed with SECRET_KEY and a salt per
purpose: a confirm token cannot unsubscribe, and a token stops working if the address changes.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.core import signing

from newsletter.models import Subscriber

# Confirmation links are short-lived; unsubscribe links must keep working in old emails.
MAX_AGE = {
    "confirm": timedelta(days=7),
    "preferences": timedelta(days=180),
    "unsubscribe": timedelta(days=400),
}


class BadToken(Exception):  # noqa: N818 - reads better at the call site than BadTokenError
    """The token was tampered with, expired, or names nobody (any more)."""


def _fingerprint(subscriber: Subscriber) -> str:
    return hashlib.sha256(subscriber.email.encode()).hexdigest()[:12]


def make_token(subscriber: Subscriber, purpose: str) -> str:
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    return signing.dumps([subscriber.pk, _fingerprint(subscriber)], salt=f"newsletter.{purpose}", compress=True)


def read_token(token: str, purpose: str) -> Subscriber:
    try:
        pk, fingerprint = signing.loads(token, salt=f"newsletter.{purpose}", max_age=MAX_AGE[purpose])
    except signing.SignatureExpired:
        raise BadToken("expired") from None
    except (signing.BadSignature, ValueError, TypeError):
        raise BadToken("invalid") from None
    subscriber = Subscriber.objects.filter(pk=pk).first()
    if subscriber is None or _fingerprint(subscriber) != fingerprint:
        raise BadToken("invalid")
    return subscriber

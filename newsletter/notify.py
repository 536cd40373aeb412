"""Emails to the editors: a draft is waiting, a day had no activity, the daily job failed."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db.models import Q
from django.urls import reverse

logger = logging.getLogger(__name__)


def editor_addresses() -> list[str]:
    users = get_user_model().objects.filter(Q(is_superuser=True) | Q(groups__name="Editors"), is_active=True)
    return sorted({user.email for user in users.exclude(email="")})


def admin_url(report) -> str:
    return settings.SITE_URL + reverse("admin:newsletter_report_change", args=[report.pk])


def notify_editors(subject: str, body: str) -> int:
    """Send to every editor; a mail problem is logged, never raised (the job itself went fine)."""
    addresses = editor_addresses()
    if not addresses:
        logger.warning("no editor has an email address; not sent: %s", subject)
        return 0
    message = EmailMessage(
        subject=f"[AI Infra Daily] {subject}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=addresses,
        headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.exception("could not email the editors: %s", subject)
        return 0
    return len(addresses)

"""Helpers for the mailing tests: subscribers, approved reports, reading what the SMTP server got."""

from __future__ import annotations

from datetime import date

from newsletter.build import build_report
from newsletter.models import Report, Repository, Subscriber


def subscriber(email: str, *repos: str, language="zh", output="html", status="active") -> Subscriber:
    person = Subscriber.objects.create(email=email, language=language, format=output, status=status)
    if repos:
        person.repositories.set(Repository.objects.filter(name__in=repos))
    return person


def approved_report(day: date = date(2026, 1, 29), language: str = "zh") -> Report:
    report = build_report(day=day, language=language, analyzer="heuristic", force=True)
    report.status = Report.Status.APPROVED
    report.save(update_fields=["status"])
    return report


def parts(message) -> dict[str, str]:
    """content type -> decoded text of a received message."""
    if not message.is_multipart():
        return {message.get_content_type(): message.get_content()}
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


def outcome(function, *args):
    """What a call returns, or the kind of error it raises: a shortcut and the code it stands for
    are compared on both."""
    try:
        return function(*args)
    except Exception as error:  # noqa: BLE001 - compared, not handled
        return type(error)

"""The archive version: which report changes write a new one, and when."""

from datetime import date

import pytest
from django.core.cache import cache

from newsletter import archive_version
from newsletter.build import build_report
from newsletter.models import Report

pytestmark = pytest.mark.django_db


def version(language: str = "zh"):
    return cache.get(archive_version.key(language))


def test_a_bump_writes_a_new_version_now_and_again_once_committed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        archive_version.bump("zh")
        inside = version()
        assert inside is not None and version("en") is None
    assert len(callbacks) == 1
    assert version() not in (None, inside)


def test_establish_keeps_a_version_that_is_there():
    first = archive_version.establish("zh")
    assert archive_version.establish("zh") == first == version()


def test_only_changes_of_what_the_archive_shows_bump_it(collected):
    report = build_report(day=date(2026, 1, 29), language="zh", analyzer="heuristic")
    start = archive_version.establish("zh")
    report.approve()
    report.withdraw_approval()
    report.approve()
    report.start_sending()
    assert version() == start  # nothing public changed
    report.finish()
    published = version()
    assert published != start
    report.warnings = ["a correction"]
    report.save()
    corrected = version()
    assert corrected != published
    Report.objects.filter(pk=report.pk).send_again()
    assert version() != corrected
    assert version("en") is None  # the other language's archive is untouched

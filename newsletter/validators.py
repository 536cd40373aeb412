"""Checks on values that end up in URLs we request or in email headers, applied where they are edited."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from sources.names import NAME_PATTERN, OWNER_PATTERN, split_full_name

__all__ = ["split_full_name", "validate_header_text", "validate_owner", "validate_repository_name"]

validate_owner = RegexValidator(
    rf"\A{OWNER_PATTERN}\Z", "A GitHub owner is letters, digits and single hyphens (at most 39).", "invalid_owner"
)
validate_repository_name = RegexValidator(
    rf"\A{NAME_PATTERN}\Z", "A GitHub repository name is letters, digits, '.', '-' and '_'.", "invalid_name"
)

# Control characters (CR and LF above all) would end an email header or forge another one.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")  # a tab is harmless whitespace


def validate_header_text(value: str) -> None:
    """One line of text that may go into an email header (a subject, a list name)."""
    if _CONTROL.search(value or ""):
        raise ValidationError("Must be one line, without line breaks or control characters.", code="control")

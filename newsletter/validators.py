"""Checks on values that end up in URLs we request or in email headers, applied where they are edited."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# GitHub's own rules: an account is 1-39 letters, digits or single hyphens (not first or last);
# a repository name is letters, digits, ".", "-" and "_", and never "." or "..".
OWNER_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
NAME_PATTERN = r"(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}"
FULL_NAME = re.compile(rf"({OWNER_PATTERN})/({NAME_PATTERN})")

validate_owner = RegexValidator(
    rf"\A{OWNER_PATTERN}\Z", "A GitHub owner is letters, digits and single hyphens (at most 39).", "invalid_owner"
)
validate_repository_name = RegexValidator(
    rf"\A{NAME_PATTERN}\Z", "A GitHub repository name is letters, digits, '.', '-' and '_'.", "invalid_name"
)

# Control characters (CR and LF above all) would end an email header or forge another one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def validate_header_text(value: str) -> None:
    """One line of text that may go into an email header (a subject, a list name)."""
    if _CONTROL.search(value or ""):
        raise ValidationError("Must be one line, without line breaks or control characters.", code="control")


def split_full_name(value: str) -> tuple[str, str]:
    """OWNER/NAME -> (owner, name); ValueError naming what is wrong, before anything is requested."""
    match = FULL_NAME.fullmatch((value or "").strip())
    if not match:
        raise ValueError(f"not an OWNER/NAME GitHub repository: {value!r}")
    return match.group(1), match.group(2)

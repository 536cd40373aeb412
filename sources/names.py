"""What a repository may be called on GitHub: checked before any request is made with the name."""

from __future__ import annotations

import re

# GitHub's own rules: an account is 1-39 letters, digits or single hyphens (not first or last);
# a repository name is letters, digits, ".", "-" and "_", and never "." or "..".
OWNER_PATTERN = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
NAME_PATTERN = r"(?!\.{1,2}$)[A-Za-z0-9._-]{1,100}"
_FULL_NAME = re.compile(rf"({OWNER_PATTERN})/({NAME_PATTERN})")


def split_full_name(value: str) -> tuple[str, str]:
    """OWNER/NAME -> (owner, name); ValueError naming what is wrong."""
    match = _FULL_NAME.fullmatch((value or "").strip())
    if not match:
        raise ValueError(f"not an OWNER/NAME GitHub repository: {value!r}")
    return match.group(1), match.group(2)

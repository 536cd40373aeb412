"""The report languages (zh, en): the Django language each is rendered in, and what HTML calls it.

A report, an email or a page of a language is rendered inside `rendered_in(language)`, so every
message (`gettext` in code, `{% translate %}` in templates) comes out in that language whatever
the request or the process had active.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.utils import translation

# The report languages and the Django language each is rendered in.
LOCALES = {"zh": "zh-hans", "en": "en"}
# What <html lang> and Open Graph's og:locale say for each.
HTML_LANGS = {"zh": "zh-CN", "en": "en"}
OG_LOCALES = {"zh": "zh_CN", "en": "en_US"}


def rendered_in(language: str) -> translation.override:
    """Activate the Django language of a report language, for the duration of a `with` block."""
    return translation.override(LOCALES[language])


def current_language() -> str:
    """The report language of the active Django language (zh-hans and its variants are zh)."""
    active = translation.get_language() or ""
    return "zh" if active.lower().startswith("zh") else "en"


def language_of(request) -> str:
    """The language a public page is shown in: the one `?lang=` names, else the site's
    (REPORT_LANGUAGE). Never Accept-Language or a cookie: the URL alone says, so a cached page
    never varies on a header."""
    wanted = request.GET.get("lang", settings.REPORT_LANGUAGE)
    return wanted if wanted in LOCALES else settings.REPORT_LANGUAGE


def language_query(language: str) -> str:
    """What a link adds to stay in `language` (nothing for the site's own)."""
    return "" if language == settings.REPORT_LANGUAGE else f"?lang={language}"


def in_page_language(view):
    """A view whose page is in the language `?lang=` asks for, words and all."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        with rendered_in(language_of(request)):
            return view(request, *args, **kwargs)

    return wrapper

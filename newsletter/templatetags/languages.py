"""Template tags for the report languages: `{% language language|locale %}` renders a block in a
subscriber's language, `{% html_lang %}` and `{% og_locale %}` say the active one as HTML does,
`{% language_query %}` keeps a link in it."""

from django import template

from newsletter.languages import HTML_LANGS, LOCALES, OG_LOCALES, current_language
from newsletter.languages import language_query as query_for

register = template.Library()


@register.filter
def locale(language: str) -> str:
    """The Django language of a report language ("zh" -> "zh-hans"), for `{% language %}`."""
    return LOCALES[language]


@register.simple_tag
def html_lang() -> str:
    return HTML_LANGS[current_language()]


@register.simple_tag
def og_locale() -> str:
    return OG_LOCALES[current_language()]


@register.simple_tag(name="language_query")
def language_query() -> str:
    """`?lang=…` for a link that stays in the active language ("" for the site's own)."""
    return query_for(current_language())

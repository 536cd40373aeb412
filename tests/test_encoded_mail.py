"""Pre-encoded copies: the bytes decode to what `report_email` builds, links spliced into any encoding."""

import email
import quopri
from email import policy

import pytest

from newsletter.audience import Variant, active_repositories
from newsletter.encoded_mail import EncodedBody, EncodedEmail
from newsletter.mail import PersonalLinks, message_id, personal_links, report_email
from newsletter.models import Delivery, ReportVariant
from newsletter.render.email import PREFERENCES_URL, UNSUBSCRIBE_URL, render_email
from newsletter.smtp_transport import envelope
from tests.mailing import approved_report, subscriber

LINKS = PersonalLinks(
    unsubscribe_token="tok:en",
    unsubscribe_url="https://daily.example.com/unsubscribe/WzEsImI1ZmM4NWU1NTc1NSJd:1xV8Jb:8f5t9g=aCvEs/",
    preferences_url="https://daily.example.com/preferences/WzEsImI1ZmM4NWU1NTc1NSJd:1xV8Jb:x_y-z/",
)


def parsed(content: bytes):
    return email.message_from_bytes(content, policy=policy.default)


def headers(message) -> dict[str, str]:
    found = {name: str(value) for name, value in message.items() if name != "Date"}
    found["Content-Type"] = message.get_content_type()  # the boundary is each message's own
    return found


def leaves(message) -> list[tuple[str, str]]:
    return [(part.get_content_type(), part.get_content()) for part in message.walk() if not part.is_multipart()]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("output", ["html", "markdown"])
@pytest.mark.parametrize(
    "address, sender, mailbox",
    [
        ("ada@example.com", "AI Infra Daily <daily@example.com>", None),
        ("zoë@bücher.example", "AI 基建日报 · Ünïcode <daily@example.com>", "leave@daily.example.com"),
    ],
    ids=["ascii", "non-ascii"],
)
def test_a_copy_decodes_to_what_report_email_builds(collected, settings, language, output, address, sender, mailbox):
    settings.DEFAULT_FROM_EMAIL, settings.UNSUBSCRIBE_MAILTO = sender, mailbox
    settings.SITE_URL = "https://daily.example.com"
    report = approved_report(language=language)
    person = subscriber(address, language=language, output=output)
    rendered = render_email(report, Variant(tuple(sorted(active_repositories(report))), language, output))
    variant = ReportVariant(report=report, key="k", subject=rendered.subject, text=rendered.text, html=rendered.html)
    delivery = Delivery(report=report, subscriber=person, message_id=message_id(report, person))
    links = personal_links(person)

    expected = envelope(report_email(delivery=delivery, variant=variant, subscriber=person, links=links))
    copy = EncodedEmail(report, variant).envelope_for(to=person.email, message_id=delivery.message_id, links=links)

    assert (copy.sender, copy.recipients) == (expected.sender, expected.recipients)
    built, sent = parsed(expected.content), parsed(copy.content)
    assert headers(sent) == headers(built) and sent["Date"]
    assert leaves(sent) == leaves(built)
    assert [kind for kind, _ in leaves(sent)] == (["text/plain", "text/html"] if output == "html" else ["text/plain"])
    assert links.unsubscribe_url in leaves(sent)[-1][1] and "links.invalid" not in copy.content.decode()
    assert max(len(line) for line in copy.content.split(b"\r\n")) <= 998


def decoded(encoding: str, body: bytes) -> str:
    if encoding == "quoted-printable":
        assert max(len(line) for line in body.split(b"\r\n")) <= 76
        body = quopri.decodestring(body)
    return body.decode().replace("\r\n", "\n")


# A line too long for 8bit makes the part quoted-printable: links in the middle of a line, after a
# space, next to multi-byte characters and '=' signs, at the very start and end.
LONG_LINE = f'{UNSUBSCRIBE_URL} <p style="a=b">{"退订 " * 400}{PREFERENCES_URL}é {UNSUBSCRIBE_URL}</p>'


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"{LONG_LINE}\n{PREFERENCES_URL}", "quoted-printable"),
        (f"{'x' * 75} {UNSUBSCRIBE_URL}\n\n退订：{UNSUBSCRIBE_URL}\n偏好设置：{PREFERENCES_URL}\n", "8bit"),
        ("no links at all\n", "8bit"),
    ],
    ids=["long-lines", "short-lines", "no-links"],
)
def test_links_are_spliced_intact_in_either_encoding(text, expected):
    encoding, body = EncodedBody(text).encode(LINKS)
    assert encoding == expected
    assert decoded(encoding, body) == LINKS.substitute(text)


def test_a_link_that_would_make_a_line_too_long_for_8bit_switches_to_quoted_printable():
    text = f"Unsubscribe: {UNSUBSCRIBE_URL}\n"
    long_link = PersonalLinks("t", "https://daily.example.com/" + "a" * 1000, LINKS.preferences_url)
    assert EncodedBody(text).encode(LINKS)[0] == "8bit"
    encoding, body = EncodedBody(text).encode(long_link)
    assert encoding == "quoted-printable" and decoded(encoding, body) == long_link.substitute(text)

"""Pre-encoded copies: the bytes decode to what `report_email` builds, links spliced into any encoding."""

import email
import quopri
import random
import string
from email import policy

import pytest
from django.core.mail.message import forbid_multi_line_headers
from django.urls import reverse

from newsletter.audience import Variant, active_repositories
from newsletter.encoded_mail import HEADERS, EncodedBody, EncodedEmail, _header
from newsletter.mail import Links, PersonalLinks, absolute, message_id, personal_links, report_email
from newsletter.models import Delivery, ReportVariant
from newsletter.render.email import PREFERENCES_URL, UNSUBSCRIBE_URL, render_email
from newsletter.smtp_transport import envelope, on_the_wire
from newsletter.tokens import read_token
from tests.mailing import approved_report, outcome, subscriber

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


def raw_header(content: bytes, name: str) -> bytes:
    """A header's bytes as written, folded lines included."""
    head = content.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    start = head.index(b"\r\n" + name.encode() + b":") + 2
    end = start
    while True:
        end = head.index(b"\r\n", end) + 2
        if not head[end : end + 1].isspace():
            return head[start:end]


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
    for name in ("To", "Message-ID", "List-Unsubscribe"):  # a copy's own headers, byte for byte
        assert raw_header(copy.content, name) == raw_header(expected.content, name)
    assert leaves(sent) == leaves(built)
    assert [kind for kind, _ in leaves(sent)] == (["text/plain", "text/html"] if output == "html" else ["text/plain"])
    assert links.unsubscribe_url in leaves(sent)[-1][1] and "links.invalid" not in copy.content.decode()
    assert max(len(line) for line in copy.content.split(b"\r\n")) <= 998
    assert copy.crlf and only_crlf(copy.content)  # so the transport skips looking for bare CR or LF


def only_crlf(content: bytes) -> bool:
    return content.count(b"\r") == content.count(b"\n") == content.count(b"\r\n")


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


@pytest.mark.parametrize("room", [0, 1])
def test_the_8bit_limit_counts_every_link_on_a_line_in_octets(room):
    """Django's rule on the copy's own text: 8bit while no line passes 998 octets, links included."""
    links = PersonalLinks("t", "https://daily.example.com/u/" + "é" * 100, "https://daily.example.com/p/" + "p" * 100)
    taken = len(f"{links.unsubscribe_url} and {links.preferences_url}".encode())
    text = f"intro\n{'x' * (998 - taken + room - 1)} {UNSUBSCRIBE_URL} and {PREFERENCES_URL}\nend {'y' * 990}\n"
    personal = links.substitute(text)
    too_long = any(len(line.encode()) > 998 for line in personal.splitlines())
    encoding, body = EncodedBody(text).encode(links)
    assert too_long == bool(room) and encoding == ("quoted-printable" if room else "8bit")
    assert decoded(encoding, body) == personal


def _random_values(seed: int) -> list[str]:
    pick = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " é退"
    values = ["".join(pick.choice(alphabet) for _ in range(pick.randint(1, 140))) for _ in range(2000)]
    unbroken = ["".join(pick.choice(string.ascii_letters + ":/<>._-") for _ in range(pick.randint(60, 200)))
                for _ in range(500)]  # fmt: skip
    return values + unbroken


@pytest.mark.parametrize("name", ["To", "Message-ID", "List-Unsubscribe"])
def test_a_header_written_directly_is_what_the_email_package_folds(name):
    fits = "x" * (78 - len(name) - 2)  # the longest value on the header's own line
    edges = [fits, fits + "y", f"<{'a' * 130}>", "<https://d.example/u/t/>, <mailto:leave@d.example?subject=u%20t>",
             "Zoë <zoe@example.com>", " leading", "two  spaces"]  # fmt: skip
    for value in edges + _random_values(len(name)):
        if "\n" in value or "\r" in value:
            continue
        assert outcome(_header, name, value, "utf-8") == outcome(
            lambda *header: HEADERS.fold_binary(*forbid_multi_line_headers(*header)), name, value, "utf-8"
        ), value


@pytest.mark.django_db
def test_links_are_the_urls_reverse_makes_for_their_tokens(settings):
    settings.SITE_URL = "https://TOKEN.example.com/daily"  # the stand-in token in the site's address
    links = Links()
    for person in (subscriber("ada@example.com"), subscriber("bob@example.com")):
        for purpose in ("unsubscribe", "preferences"):
            token, url = links.url(person, purpose)
            assert url == absolute(reverse(purpose, args=[token]))
            assert read_token(token, purpose) == person
        made = links.personal(person)
        assert made.unsubscribe_url.endswith(f"/unsubscribe/{made.unsubscribe_token}/")


@pytest.mark.parametrize("seed", range(4))
def test_encoded_bodies_end_every_line_with_crlf_whatever_the_text_breaks_lines_with(seed):
    pick = random.Random(seed)
    pieces = ["\r\n", "\r", "\n", "\n\n", "\x85", "\u2028", "\x0b", "\x1c", ".", "é", "退订", "a=b", " ", "x" * 80,
              UNSUBSCRIBE_URL, PREFERENCES_URL]  # fmt: skip
    for _ in range(200):
        text = "".join(pick.choice(pieces) for _ in range(pick.randint(1, 60)))
        for links in (LINKS, PersonalLinks("t", "https://d.example/" + "u" * 1100, LINKS.preferences_url)):
            encoding, body = EncodedBody(text).encode(links)
            assert only_crlf(body), (text, encoding)


@pytest.mark.django_db
def test_a_link_with_a_line_break_leaves_the_line_ends_to_the_transport(collected, settings):
    report = approved_report()
    person = subscriber("ada@example.com", output="markdown")
    rendered = render_email(report, Variant(tuple(sorted(active_repositories(report))), "zh", "markdown"))
    variant = ReportVariant(report=report, key="k", subject=rendered.subject, text=rendered.text, html="")
    broken = PersonalLinks("t", LINKS.unsubscribe_url, "https://daily.example.com/p\n/t/")  # in no header
    copy = EncodedEmail(report, variant).envelope_for(to=person.email, message_id="<m@x>", links=broken)
    assert not copy.crlf and not only_crlf(copy.content)
    assert only_crlf(on_the_wire(copy.content, crlf=copy.crlf))

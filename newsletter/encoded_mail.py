"""A variant's email encoded once; each subscriber's copy is that encoding with their own parts spliced in.

Building and flattening a MIME message in Python costs about 10 ms a copy (quoted-printable of
long HTML lines, folding every header), and it is the same work for every subscriber of a variant.
Here the headers that never change are encoded once, by the same Django code that builds
`mail.report_email`, and each body is encoded once, cut at the placeholders of the subscriber's
links. A copy then only encodes its own four headers (To, Date, Message-ID, List-Unsubscribe) and
joins the pieces around its links, each link encoded on its own.

Transfer encodings follow Django's rule: 8bit, or quoted-printable when a line is longer than SMTP
allows (998 octets; the compiled HTML always has such lines). In quoted-printable a link goes
between two soft line breaks (a `=` ending a line, which decoders drop), so the encoded pieces
join without a line ever growing past 76 characters and without cutting an encoded character in
two. The result decodes to exactly what `report_email` builds (tests/test_encoded_mail.py).
"""

from __future__ import annotations

import re
import secrets
import time
from email import policy
from email.quoprimime import body_encode
from email.utils import formatdate

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers, sanitize_address

from newsletter.addresses import sanitized
from newsletter.mail import PersonalLinks, list_unsubscribe, report_headers
from newsletter.models import Report, ReportVariant
from newsletter.render.email import PREFERENCES_URL, UNSUBSCRIBE_URL
from newsletter.smtp_transport import Envelope

# How Python's generator writes headers for Django's messages (compat32), with SMTP's line ends.
HEADERS = policy.compat32.clone(linesep="\r\n")
PLACEHOLDERS = re.compile(f"({re.escape(UNSUBSCRIBE_URL)}|{re.escape(PREFERENCES_URL)})")
LINE_ENDS = re.compile(r"\r\n|\r|\n")
SOFT_BREAK = b"=\r\n"


def _quoted(text: str) -> bytes:
    # quoprimime encodes one character per octet: hand it the UTF-8 octets, as email.charset does.
    # 75 leaves room on a piece's last line for the soft line break that joins it to the next.
    return body_encode(text.encode().decode("latin-1"), 75, "\r\n").encode("ascii")


def _join_quoted(pieces: list[bytes]) -> bytes:
    """Encoded pieces of one body, each ending where a soft line break may follow."""
    out: list[bytes] = []
    for piece in pieces:
        if not piece:
            continue
        if out and not out[-1].endswith(b"\r\n"):
            out.append(SOFT_BREAK)
        out.append(piece)
    return b"".join(out)


def _interleave(fixed: list[bytes], links: list[bytes]) -> list[bytes]:
    pieces = [fixed[0]]
    for link, after in zip(links, fixed[1:], strict=True):
        pieces += [link, after]
    return pieces


class EncodedBody:
    """One text part, encoded once around its link placeholders, in both encodings it may need."""

    def __init__(self, text: str):
        pieces = PLACEHOLDERS.split(text)
        self.placeholders = pieces[1::2]
        fixed = pieces[0::2]
        self.quoted = [_quoted(piece) for piece in fixed]
        # Django's rule, on the text as each copy has it: 8bit unless a line is longer than SMTP
        # allows. Only the lines with links differ between copies, so only they are measured then.
        lines = [(len(line.encode()), PLACEHOLDERS.findall(line)) for line in text.splitlines()]
        longest = max((octets for octets, found in lines if not found), default=0)
        self.linked_lines = [(octets - sum(map(len, found)), found) for octets, found in lines if found]
        self.eight_bit = None
        if longest <= RFC5322_EMAIL_LINE_LENGTH_LIMIT:
            self.eight_bit = [LINE_ENDS.sub("\r\n", piece).encode() for piece in fixed]

    def encode(self, links: PersonalLinks) -> tuple[str, bytes]:
        """(Content-Transfer-Encoding, the encoded body) with these links in place."""
        url = {UNSUBSCRIBE_URL: links.unsubscribe_url, PREFERENCES_URL: links.preferences_url}
        values = [url[placeholder] for placeholder in self.placeholders]
        length = {placeholder: len(value.encode()) for placeholder, value in url.items()}
        if self.eight_bit is not None and all(
            octets + sum(length[placeholder] for placeholder in found) <= RFC5322_EMAIL_LINE_LENGTH_LIMIT
            for octets, found in self.linked_lines  # a link can make its line too long (a long SITE_URL, say)
        ):
            return "8bit", b"".join(_interleave(self.eight_bit, [value.encode() for value in values]))
        return "quoted-printable", _join_quoted(_interleave(self.quoted, [_quoted(value) for value in values]))


def _header_lines(message) -> bytes:
    return b"".join(HEADERS.fold_binary(name, value) for name, value in message.raw_items())


# What the generator leaves as it is. A copy's own headers are mostly such values (an address, a
# Message-ID, a link), and folding each through the email package costs 10 to 20 µs; the general
# path stays the definition and tests hold the shortcut equal to it.
UNBROKEN = re.compile(r"[!-~]+\Z")  # printable ASCII without a space: nowhere to fold
HEADER_LINE = 78  # compat32's max_line_length


def _header(name: str, value: str, encoding: str) -> bytes:
    """One header line as Django's message writes it: on one line when the value fits, else moved
    to a line of its own (it cannot be broken anywhere)."""
    if UNBROKEN.match(value):
        line = f"{name}: {value}\r\n"
        return (line if len(line) - 2 <= HEADER_LINE else f"{name}: \r\n {value}\r\n").encode()
    return HEADERS.fold_binary(*forbid_multi_line_headers(name, value, encoding))


class EncodedEmail:
    """A variant's email with everything but the subscriber's parts encoded; `envelope_for` makes a copy."""

    def __init__(self, report: Report, variant: ReportVariant):
        # The message Django would build, without a recipient and with stand-in bodies (an empty
        # one would be left out): its headers, encoded once, are every copy's (From, Subject...).
        skeleton = EmailMultiAlternatives(
            subject=variant.subject, body=".", from_email=settings.DEFAULT_FROM_EMAIL, headers=report_headers(report)
        )
        contents = [variant.text]
        if variant.html:
            skeleton.attach_alternative(".", "text/html")
            contents.append(variant.html)
        self.encoding = skeleton.encoding or settings.DEFAULT_CHARSET
        self.sender = sanitize_address(skeleton.from_email, self.encoding)
        mime = skeleton.message()
        del mime["Date"], mime["Message-ID"]  # each copy has its own
        leaves = mime.get_payload() if mime.is_multipart() else [mime]
        for leaf in leaves:
            del leaf["Content-Transfer-Encoding"]  # chosen per copy, with its links in place
        self.boundary = None
        if mime.is_multipart():
            self.boundary = self._boundary(contents)
            mime.set_boundary(self.boundary)
            self.parts = [
                (_header_lines(leaf), EncodedBody(content)) for leaf, content in zip(leaves, contents, strict=True)
            ]
        else:
            self.parts = [(b"", EncodedBody(variant.text))]
        self.head = _header_lines(mime)
        self.date: tuple[int, bytes] = (-1, b"")

    def _date(self) -> bytes:
        """The Date header, encoded once a second."""
        second = int(time.time())
        if self.date[0] != second:
            value = formatdate(second, localtime=settings.EMAIL_USE_LOCALTIME)
            self.date = second, HEADERS.fold_binary("Date", value)
        return self.date[1]

    @staticmethod
    def _boundary(contents: list[str]) -> str:
        while True:
            boundary = f"=_{secrets.token_hex(16)}"
            if not any(boundary in content for content in contents):
                return boundary

    def envelope_for(self, *, to: str, message_id: str, links: PersonalLinks) -> Envelope:
        """One subscriber's copy. Raises ValueError (as Django would) for an address or header that
        cannot be encoded, before anything is handed over."""
        recipients = [sanitized(to, self.encoding)]  # first, as in smtp_transport.envelope
        # The encoded pieces and the headers end their lines with CRLF; so does a copy, unless a
        # link brings a line break of its own into an 8bit body (a header refuses one).
        crlf = not any(c in url for url in (links.unsubscribe_url, links.preferences_url) for c in "\r\n")
        lines = [
            self.head,
            _header("To", to, self.encoding),
            self._date(),
            _header("Message-ID", message_id, self.encoding),
            _header("List-Unsubscribe", list_unsubscribe(links), self.encoding),
        ]
        if self.boundary is None:
            (_, body), *_ = self.parts
            encoding, content = body.encode(links)
            lines += [f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode(), content]
            return Envelope(self.sender, recipients, b"".join(lines), crlf)
        delimiter = f"--{self.boundary}".encode()
        lines.append(b"\r\n")
        for headers, body in self.parts:
            encoding, content = body.encode(links)
            lines += [delimiter, b"\r\n", headers, f"Content-Transfer-Encoding: {encoding}\r\n\r\n".encode()]
            lines += [content, b"\r\n"]
        lines += [delimiter, b"--\r\n"]
        return Envelope(self.sender, recipients, b"".join(lines), crlf)

"""Hand one message to the mail server and, when that fails, say whether the server may have it.

smtplib's `sendmail` runs MAIL, RCPT and DATA in one call, so a broken connection looks the same
wherever it broke, and after a 421 reply smtplib closes the connection itself (every later call
then fails with SMTPServerDisconnected). Here the commands are driven by this module: MAIL, RCPT
and DATA together when the server offers PIPELINING (two round trips a message instead of four),
else one by one; then the content, once DATA was answered 354.

- a reply refusing the message (at MAIL, RCPT, the DATA command or after the content) is definite:
  the server does not have it. After a 421 the server hangs up, so the connection is reopened for
  the next message;
- a connection that broke before the content was sent is not ambiguous either: a server keeps no
  message it has not read to its end (most often it had closed an idle connection). It is
  reopened and the message tried once more at once;
- anything that goes wrong once the content went out is ambiguous: the server may have accepted
  the message and only its answer got lost.

The connection still comes from Django's backend (`get_connection`), so host, port, TLS, login and
timeout settings apply. What goes over it is an `Envelope`: sender, recipients and the message's
bytes, however they were encoded. Other backends (the outbox files, locmem in the tests) know no
such phases: they get the message object through `send_messages`, and only an OSError from them
counts as ambiguous.

A Transport is one connection, used by one thread at a time (a worker may run several).
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

from newsletter.addresses import quoted


class HandoverError(Exception):
    """Sending failed with `error`; `ambiguous` when the server may nevertheless have accepted the message."""

    def __init__(self, error: Exception, *, ambiguous: bool):
        super().__init__(f"{type(error).__name__}: {error}")
        self.error, self.ambiguous = error, ambiguous


@dataclass(frozen=True)
class Envelope:
    sender: str
    recipients: list[str]
    content: bytes
    # Every line of the content ends with CRLF, as its builder made sure: the transport need not
    # look (three scans of each message, the longest part of its work besides the socket).
    crlf: bool = False


def envelope(message: EmailMessage) -> Envelope:
    """What goes over the wire, built up front (as Django's SMTP backend builds it): an address or a
    header that cannot be encoded fails here, before anything is marked as being sent."""
    encoding = message.encoding or settings.DEFAULT_CHARSET
    return Envelope(
        sender=sanitize_address(message.from_email, encoding),
        recipients=[sanitize_address(address, encoding) for address in message.recipients()],
        content=message.message().as_bytes(linesep="\r\n"),
    )


def is_reply(error: Exception) -> bool:
    """The server answered (a refusal), as opposed to the connection breaking."""
    return isinstance(error, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))


def reply_code(error: Exception) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next(iter(error.recipients.values()))[0]
    return getattr(error, "smtp_code", None)


_LINK = re.compile(r"\b[a-z][a-z0-9+.-]*:(//)?[^\s'\"<>]+", re.IGNORECASE)
_QUOTED = re.compile(r"""(?<![A-Za-z])('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def describe(error: Exception) -> str:
    """The error's type and a short message for the admin, without what the error quotes (a header's
    value, a piece of the message) or links (ours carry signed tokens)."""
    if isinstance(error, UnicodeError):  # its text names the codec and the reason, never the data
        detail = f"{getattr(error, 'encoding', '')}: {getattr(error, 'reason', '')}"
    else:
        lines = str(error).splitlines()
        detail = _QUOTED.sub("…", _LINK.sub("…", lines[0] if lines else ""))
    return f"{type(error).__name__}: {detail[:160]}" if detail.strip(": ") else type(error).__name__


def command_line(verb: str, args: str) -> str:
    """One command as smtplib's `putcmd` writes it, refusing a line break inside (which would be
    a command of its own)."""
    line = f"{verb.upper()} {args}".rstrip()
    if "\r" in line or "\n" in line:
        raise ValueError("a line break in an SMTP command")
    return line + "\r\n"


def goes_on(replies: list[tuple[str, int, bytes]], recipients: int) -> bool:
    """Without pipelining: whether the next command is worth sending after these replies (not
    after a refused sender, nor after the last recipient when every one was refused)."""
    verb, code, _ = replies[-1]
    if verb == "mail":
        return code == 250
    rcpts = [code for verb, code, _ in replies if verb == "rcpt"]
    return verb != "rcpt" or len(rcpts) < recipients or any(code in (250, 251) for code in rcpts)


def on_the_wire(content: bytes, *, crlf: bool = False) -> bytes:
    """A message's content as DATA sends it (as smtplib's `data` does): CRLF line ends, a leading
    dot doubled, and the terminating line. Our messages come with CRLF already (`crlf` when their
    builder made sure); the checks are byte counts and one replace, because a regular expression
    over each 60 KB message holds the interpreter long enough to slow every other connection's
    thread down."""
    if not crlf:
        line_ends = content.count(b"\r\n")
        if content.count(b"\n") != line_ends or content.count(b"\r") != line_ends:
            content = re.sub(rb"\r\n|\r|\n", b"\r\n", content)  # a bare CR or LF somewhere
    quoted = (b"." if content.startswith(b".") else b"") + content.replace(b"\r\n.", b"\r\n..")
    return quoted + (b"" if quoted.endswith(b"\r\n") else b"\r\n") + b".\r\n"


class Transport:
    """One worker's mail connection: opened when first needed, reopened when the server closed it."""

    def __init__(self):
        self.backend = None

    @property
    def speaks_smtp(self) -> bool:
        """Whether messages go to a mail server as bytes (else the backend wants message objects)."""
        if self.backend is None:
            self.backend = get_connection(fail_silently=False)
        return isinstance(self.backend, SMTPBackend)

    @property
    def smtp(self) -> smtplib.SMTP | None:
        return self.backend.connection if isinstance(self.backend, SMTPBackend) else None

    def ready(self) -> None:
        """Make sure there is a connection to hand a message to; raises SMTPException/OSError when the
        server cannot be reached."""
        if self.backend is None:
            self.backend = get_connection(fail_silently=False)
        if self.smtp is not None and self.smtp.sock is None:  # smtplib closed it (after a 421, say)
            self.close()
        self.backend.open()

    def close(self) -> None:
        if self.backend is None:
            return
        smtp = self.smtp
        try:
            self.backend.close()
        except OSError:  # smtplib's errors are OSErrors too: a broken connection cannot say goodbye
            if smtp is not None:
                smtp.close()

    def send(self, message: EmailMessage | None, envelope: Envelope) -> None:
        """Hand the message over, or raise HandoverError. SMTP sends the envelope; the other backends
        need the message object."""
        self._connect()
        if not isinstance(self.backend, SMTPBackend):
            try:
                self.backend.send_messages([message])
            except Exception as error:
                raise HandoverError(error, ambiguous=isinstance(error, OSError) and not is_reply(error)) from error
            return
        try:
            self._hand_over(envelope)
        except HandoverError as failure:
            if failure.ambiguous or is_reply(failure.error) or not isinstance(failure.error, OSError):
                raise
            self._connect()  # the connection was gone before the message started: once more, on a new one
            self._hand_over(envelope)

    def _connect(self) -> None:
        try:
            self.ready()
        except OSError as error:  # smtplib's errors included; nothing was handed over
            raise HandoverError(error, ambiguous=False) from error

    def _hand_over(self, envelope: Envelope) -> None:
        smtp = self.smtp
        content_sent = False
        try:
            smtp.ehlo_or_helo_if_needed()
            replies = self._commands(smtp, envelope)
            self._check(replies, envelope)
            content_sent = True
            smtp.send(on_the_wire(envelope.content, crlf=envelope.crlf))
            code, reply = smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except Exception as error:
            self._after_failure(error)
            raise HandoverError(error, ambiguous=content_sent and not is_reply(error)) from error

    @staticmethod
    def _commands(smtp: smtplib.SMTP, envelope: Envelope) -> list[tuple[str, int, bytes]]:
        """MAIL, RCPT for each recipient and DATA, with the server's replies (verb, code, text).
        With PIPELINING (RFC 2920) they go out together and the replies are read after: two round
        trips per message instead of four, which is what a relay across a network costs. Without
        it each waits for its reply, and a refusal stops what would follow. A 421 ends the
        conversation (the server hangs up), whichever it answers."""
        size = f" size={len(envelope.content)}" if smtp.has_extn("size") else ""
        commands = [
            ("mail", f"FROM:{quoted(envelope.sender)}{size}"),
            *(("rcpt", f"TO:{quoted(recipient)}") for recipient in envelope.recipients),
            ("data", ""),
        ]
        pipelining = smtp.has_extn("pipelining")
        if pipelining:
            smtp.send("".join(command_line(verb, args) for verb, args in commands))
        replies = []
        for verb, args in commands:
            if not pipelining:
                smtp.putcmd(verb, args)
            code, text = smtp.getreply()
            replies.append((verb, code, text))
            if code == 421 or (not pipelining and not goes_on(replies, len(envelope.recipients))):
                break
        return replies

    def _check(self, replies: list[tuple[str, int, bytes]], envelope: Envelope) -> None:
        """Raise smtplib's error for the first refusal among the replies; return when DATA was
        accepted (354) for a message the server takes (its sender and at least one recipient)."""
        (_, mail_code, mail_text), *rest = replies
        rcpts = [(code, text) for verb, code, text in rest if verb == "rcpt"]
        data = [(code, text) for verb, code, text in rest if verb == "data"]
        refusal: smtplib.SMTPException | None = None
        if mail_code != 250:
            refusal = smtplib.SMTPSenderRefused(mail_code, mail_text, envelope.sender)
        else:
            refused = {
                recipient: (code, text)
                for recipient, (code, text) in zip(envelope.recipients, rcpts, strict=False)
                if code not in (250, 251)
            }
            if len(rcpts) < len(envelope.recipients) or len(refused) == len(envelope.recipients):
                refusal = smtplib.SMTPRecipientsRefused(refused)
            elif not data or data[0][0] != 354:
                code, text = data[0] if data else (-1, b"no reply to DATA")
                refusal = smtplib.SMTPDataError(code, text)
        if refusal is None:
            return
        if data and data[0][0] == 354:
            # A server that took DATA for a message it refused now reads whatever comes as content:
            # the connection cannot serve another message.
            self.close()
        raise refusal

    def _after_failure(self, error: Exception) -> None:
        """After a refusal, end the transaction so the connection serves the next message; after a
        421 or a broken connection, drop it so the next message gets a new one."""
        smtp = self.smtp
        if is_reply(error) and reply_code(error) != 421 and smtp is not None and smtp.sock is not None:
            try:
                smtp.rset()
                return
            except (smtplib.SMTPException, OSError):
                pass
        self.close()

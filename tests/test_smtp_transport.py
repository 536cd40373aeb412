"""The SMTP handover on its own: which failures are ambiguous, when the connection is reopened."""

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from newsletter.smtp_transport import HandoverError, Transport, describe, envelope
from tests.smtp_server import DROP, KEEP_AND_DROP


def send(transport: Transport, to: str) -> None:
    message = EmailMessage("Subject", "Body\n.\nwith a lone dot\n", "daily@example.com", [to])
    transport.send(message, envelope(message))


def failure(transport: Transport, to: str) -> HandoverError:
    with pytest.raises(HandoverError) as caught:
        send(transport, to)
    return caught.value


def test_a_refusal_is_definite_and_the_connection_serves_the_next_message(smtp):
    smtp.refuse("nobody@example.com", "550 5.1.1 No such user")
    transport = Transport()
    assert failure(transport, "nobody@example.com").ambiguous is False
    send(transport, "ok@example.com")
    assert smtp.recipients() == ["ok@example.com"] and smtp.connections == 1
    assert smtp.messages[0].get_content().splitlines() == ["Body", ".", "with a lone dot"]  # escaped on the wire
    transport.close()


@pytest.mark.parametrize("stage", ["rcpt", "data", "end"])
def test_a_421_is_definite_and_the_next_message_gets_a_new_connection(smtp, stage):
    smtp.script("busy@example.com", stage, "421 4.3.2 Closing")
    transport = Transport()
    assert failure(transport, "busy@example.com").ambiguous is False
    send(transport, "ok@example.com")
    assert smtp.recipients() == ["ok@example.com"] and smtp.connections == 2
    transport.close()


def test_a_connection_lost_at_rcpt_is_tried_again_at_once_on_a_new_one(smtp):
    smtp.script("a@example.com", "rcpt", DROP, None)
    transport = Transport()
    send(transport, "a@example.com")
    assert smtp.recipients() == ["a@example.com"] and smtp.connections == 2
    transport.close()


@pytest.mark.parametrize("stage, action", [("data", DROP), ("end", DROP), ("end", KEEP_AND_DROP)])
def test_a_connection_lost_once_data_was_sent_is_ambiguous(smtp, stage, action):
    smtp.script("a@example.com", stage, action)
    transport = Transport()
    assert failure(transport, "a@example.com").ambiguous is True
    send(transport, "b@example.com")  # and the next message goes out on a new connection
    assert smtp.recipients()[-1] == "b@example.com"
    transport.close()


def test_other_backends_get_send_messages(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send(Transport(), "a@example.com")
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_describe_names_the_error_without_links_or_quoted_values():
    link = "https://example.com/unsubscribe/SIGNED-TOKEN/"
    header = ValueError(f"Header values can't contain newlines (got '<{link}>\\nBody' for header 'List-Unsubscribe')")
    assert describe(header) == "ValueError: Header values can't contain newlines (got … for header …)"
    encoding = UnicodeEncodeError("ascii", "secret ü", 7, 8, "ordinal not in range(128)")
    assert describe(encoding) == "UnicodeEncodeError: ascii: ordinal not in range(128)"
    assert describe(TypeError("something unexpected")) == "TypeError: something unexpected"
    assert describe(ValueError()) == "ValueError"

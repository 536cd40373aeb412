"""The SMTP handover on its own: which failures are ambiguous, when the connection is reopened."""

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from newsletter.smtp_transport import Envelope, HandoverError, Transport, command_line, describe, envelope
from tests.smtp_server import DROP, KEEP_AND_DROP


@pytest.fixture(params=[False, True], ids=["one-by-one", "pipelining"])
def server(smtp, request):
    """The test server, offering PIPELINING or not: every rule holds both ways."""
    smtp.handler.pipelining = request.param
    return smtp


def send(transport: Transport, to: str) -> None:
    message = EmailMessage("Subject", "Body\n.\nwith a lone dot\n", "daily@example.com", [to])
    transport.send(message, envelope(message))


def failure(transport: Transport, to: str) -> HandoverError:
    with pytest.raises(HandoverError) as caught:
        send(transport, to)
    return caught.value


def test_a_refusal_is_definite_and_the_connection_serves_the_next_message(server):
    server.refuse("nobody@example.com", "550 5.1.1 No such user")
    transport = Transport()
    assert failure(transport, "nobody@example.com").ambiguous is False
    send(transport, "ok@example.com")
    assert server.recipients() == ["ok@example.com"] and server.connections == 1
    assert server.messages[0].get_content().splitlines() == ["Body", ".", "with a lone dot"]  # escaped on the wire
    transport.close()


@pytest.mark.parametrize("stage", ["rcpt", "data", "end"])
def test_a_421_is_definite_and_the_next_message_gets_a_new_connection(server, stage):
    server.script("busy@example.com", stage, "421 4.3.2 Closing")
    transport = Transport()
    assert failure(transport, "busy@example.com").ambiguous is False
    send(transport, "ok@example.com")
    assert server.recipients() == ["ok@example.com"] and server.connections == 2
    transport.close()


@pytest.mark.parametrize("stage", ["rcpt", "data"])
def test_a_connection_lost_before_the_content_is_tried_again_at_once_on_a_new_one(server, stage):
    server.script("a@example.com", stage, DROP, None)
    transport = Transport()
    send(transport, "a@example.com")
    assert server.recipients() == ["a@example.com"] and server.connections == 2
    transport.close()


def test_pipelined_commands_go_out_together_and_a_refusal_among_them_is_definite(server):
    server.refuse("nobody@example.com", "550 5.1.1 No such user")
    transport = Transport()
    send(transport, "first@example.com")
    assert transport.smtp.has_extn("pipelining") is server.handler.pipelining
    assert failure(transport, "nobody@example.com").error.recipients == {
        "nobody@example.com": (550, b"5.1.1 No such user")
    }
    send(transport, "after@example.com")  # the refusal reset the transaction; the connection goes on
    assert server.recipients() == ["first@example.com", "after@example.com"] and server.connections == 1
    transport.close()


def test_a_line_break_in_an_address_cannot_add_a_command(server):
    transport = Transport()
    transport.send(None, Envelope("daily@example.com", ["a@example.com>\r\nRCPT TO:<b@example.com"], b"x\r\n"))
    assert server.recipients() == ["a@example.com"]
    with pytest.raises(ValueError):
        command_line("rcpt", "TO:<a@example.com>\r\nRSET")
    transport.close()


@pytest.mark.parametrize("stage, action", [("end", DROP), ("end", KEEP_AND_DROP)])
def test_a_connection_lost_once_data_was_sent_is_ambiguous(server, stage, action):
    server.script("a@example.com", stage, action)
    transport = Transport()
    assert failure(transport, "a@example.com").ambiguous is True
    send(transport, "b@example.com")  # and the next message goes out on a new connection
    assert server.recipients()[-1] == "b@example.com"
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

"""A real SMTP server for the tests (aiosmtpd), recording what it accepts, with scripted faults.

A script says, per recipient and per stage, what the server does instead of the usual: at `rcpt`
(its RCPT TO), at `data` (the DATA command, before any content) and at `end` (after the content).
Each action is an SMTP reply to give (a 421 also closes the connection afterwards, as real servers
do), DROP (close the connection without answering; at `end` the message is not kept),
KEEP_AND_DROP (`end` only: keep the message, then close without answering, so the reply is lost)
or KEEP_AND_CLOSE (`end` only: keep it, answer 250, then close, like a server's idle timeout).
None behaves as usual. Actions are used in turn; the last one repeats.
"""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DROP, KEEP_AND_DROP, KEEP_AND_CLOSE = "drop", "keep-and-drop", "keep-and-close"


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.scripts: dict[tuple[str, str], list[str | None]] = {}  # (address, stage) -> actions, in order
        self.data_delay = 0.0
        self.connections = 0
        self.pipelining = False  # whether EHLO offers PIPELINING (RFC 2920)

    def next_action(self, address: str, stage: str) -> str | None:
        with self.lock:
            plan = self.scripts.get((address.lower(), stage))
            if not plan:
                return None
            return plan.pop(0) if len(plan) > 1 else plan[0]

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname  # what aiosmtpd does itself when no hook answers EHLO
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")  # aiosmtpd reads commands in turn, sent together or not
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        action = self.next_action(address, "rcpt")
        if action == DROP:
            server.transport.close()
            return "250 OK"  # never written: the connection is closed
        if action:
            return action
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        action = self.next_action(envelope.rcpt_tos[0], "end") if envelope.rcpt_tos else None
        if action == DROP:
            server.transport.close()
            return "250 OK"  # never written
        if action and action not in (KEEP_AND_DROP, KEEP_AND_CLOSE):
            return action
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        if action == KEEP_AND_DROP:
            server.transport.close()
        elif action == KEEP_AND_CLOSE:
            server.close_after_reply = True
        return "250 Message accepted for delivery"


class ScriptedSMTP(SMTP):
    """aiosmtpd's server, plus what its handler hooks cannot do: answer the DATA command itself, and
    close the connection after a reply."""

    close_after_reply = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if self._original_transport is None:  # a new connection, not a STARTTLS upgrade
            with self.event_handler.lock:
                self.event_handler.connections += 1

    async def push(self, status) -> None:
        if self.transport is None or self.transport.is_closing():
            return  # the script closed the connection: nothing more is said
        await super().push(status)
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("421") or self.close_after_reply:
            self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:
        action = self.event_handler.next_action(self.envelope.rcpt_tos[0], "data") if self.envelope.rcpt_tos else None
        if action == DROP:
            self.transport.close()
        elif action:
            await self.push(action)
        else:
            await super().smtp_DATA(arg)


class ScriptedController(Controller):
    def factory(self):
        return ScriptedSMTP(self.handler, **self.SMTP_kwargs)


class SMTPServer:
    def __init__(self):
        self.handler = RecordingHandler()
        # aiosmtpd's Controller cannot start on port 0 (it probes the port it was given).
        self.controller = ScriptedController(self.handler, hostname="127.0.0.1", port=free_port())

    def start(self) -> SMTPServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def reset(self) -> None:
        with self.handler.lock:
            self.handler.messages.clear()
            self.handler.scripts.clear()
            self.handler.connections = 0
        self.handler.data_delay = 0.0
        self.handler.pipelining = False

    def script(self, address: str, stage: str, *actions: str | None) -> None:
        """At `stage` ("rcpt", "data" or "end") of a message to `address`, do these actions in turn."""
        assert stage in ("rcpt", "data", "end"), stage
        with self.handler.lock:
            self.handler.scripts[(address.lower(), stage)] = list(actions)

    def refuse(self, address: str, *replies: str | None) -> None:
        """Answer RCPT TO `address` with these replies in turn (None accepts); the last one repeats."""
        self.script(address, "rcpt", *replies)

    @property
    def connections(self) -> int:
        with self.handler.lock:
            return self.handler.connections

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler.lock:
            raw = [content for _, _, content in self.handler.messages]
        return [email.message_from_bytes(content, policy=policy.default) for content in raw]

    def count(self) -> int:
        with self.handler.lock:
            return len(self.handler.messages)

    def recipients(self) -> list[str]:
        with self.handler.lock:
            return [rcpt.lower() for _, rcpts, _ in self.handler.messages for rcpt in rcpts]

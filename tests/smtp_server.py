"""A real SMTP server for the tests (aiosmtpd), recording what it accepts, with scripted refusals."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port nobody listens on right now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RecordingHandler:
    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.lock = threading.Lock()
        self.refusals: dict[str, list[str]] = {}  # address -> SMTP replies to give at RCPT, in order
        self.data_delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        plan = self.refusals.get(address.lower())
        if plan:
            reply = plan.pop(0) if len(plan) > 1 else plan[0]
            if reply:
                return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self):
        self.handler = RecordingHandler()
        # aiosmtpd's Controller cannot start on port 0 (it probes the port it was given).
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())

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
        self.handler.refusals.clear()
        self.handler.data_delay = 0.0

    def refuse(self, address: str, *replies: str) -> None:
        """Answer RCPT TO `address` with these replies in turn (None accepts); the last one repeats."""
        self.handler.refusals[address.lower()] = list(replies)

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

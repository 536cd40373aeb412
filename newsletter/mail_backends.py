"""A mail backend for running offline: every message becomes files in a folder, one .eml each.

The .eml opens in any mail client; for HTML messages the HTML part is written beside it as .html,
to open in a browser. This is the default when no mail relay is configured.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxBackend(BaseEmailBackend):
    def __init__(self, file_path: str | None = None, fail_silently: bool = False, **kwargs):
        super().__init__(fail_silently=fail_silently, **kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            stem = self._stem(message)
            (self.folder / f"{stem}.eml").write_bytes(message.message().as_bytes(linesep="\r\n"))
            html = next(
                (content for content, mime in getattr(message, "alternatives", []) if mime == "text/html"), None
            )
            if html:
                (self.folder / f"{stem}.html").write_text(html, encoding="utf-8")
            sent += 1
        return sent

    def _stem(self, message) -> str:
        """Sortable by time, named after the recipient, never overwriting an earlier message."""
        recipient = re.sub(r"[^A-Za-z0-9@._-]", "_", (message.to or ["unknown"])[0])[:80]
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        stem, n = f"{stamp}-{recipient}", 1
        while (self.folder / f"{stem}.eml").exists():
            n += 1
            stem = f"{stamp}-{recipient}-{n}"
        return stem

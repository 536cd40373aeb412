"""How long to wait before trying again, and when to stop: one policy object per kind of work."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class RetryPolicy:
    first_delay_seconds: float
    factor: float = 2.0  # each wait is this many times the one before
    max_attempts: int = 1
    max_delay_seconds: float | None = None  # no wait is longer than this; None: no bound

    def delay(self, attempt: int) -> float:
        """Seconds to wait after attempt number `attempt` (1 is the first) failed."""
        seconds = self.first_delay_seconds * self.factor ** max(attempt - 1, 0)
        return seconds if self.max_delay_seconds is None else min(seconds, self.max_delay_seconds)

    def exhausted(self, attempts: int) -> bool:
        """`attempts` tries were made: no more."""
        return attempts >= self.max_attempts


# Built when asked, not at import: settings can change under tests and per deployment.
def delivery_retries() -> RetryPolicy:
    """A temporary (4xx) refusal of a delivery: the wait doubles from DELIVERY_RETRY_SECONDS."""
    return RetryPolicy(settings.DELIVERY_RETRY_SECONDS, factor=2.0, max_attempts=settings.DELIVERY_MAX_ATTEMPTS)


def daily_retries() -> RetryPolicy:
    """A failed daily build: tried again DAILY_RETRY_SECONDS later each time."""
    return RetryPolicy(settings.DAILY_RETRY_SECONDS, factor=1.0, max_attempts=settings.DAILY_MAX_ATTEMPTS)

"""Value objects for the client's knobs: timeouts and the retry policy (units in the names)."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import random


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts. `read_s` bounds the wait for an answer: a durable write waits for
    an fsync, and a large batch for its indexing into the fresh segment, so keep it generous."""

    connect_s: float = 5.0
    read_s: float = 60.0
    write_s: float = 60.0
    pool_s: float = 60.0

    @classmethod
    def of(cls, value: float | Timeouts) -> Timeouts:
        if isinstance(value, Timeouts):
            return value
        return cls(connect_s=min(5.0, value), read_s=value, write_s=value, pool_s=value)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to try again.

    An attempt is retried after a connection error, a timeout, or an answer of 429, 502, 503 or
    504, and only for operations that are safe to repeat (see AsyncZoroClient's docstring). The
    n-th retry waits `min(backoff_max_s, backoff_initial_s * backoff_multiplier**(n-1))`, half of
    it fixed and half random ("equal jitter": spread out, yet never a zero wait that would hammer
    an overloaded server), or the server's Retry-After if that is longer. No attempt starts after
    `max_attempts` or once `max_total_s` has passed since the first; a Retry-After that would
    carry the wait past `max_total_s` ends the retries at once rather than sleeping in vain.
    """

    max_attempts: int = 5
    max_total_s: float = 30.0
    backoff_initial_s: float = 0.1
    backoff_multiplier: float = 2.0
    backoff_max_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts: at least 1 (1 means no retry)")
        if self.max_total_s < 0 or self.backoff_initial_s < 0 or self.backoff_max_s < 0:
            raise ValueError("retry times must not be negative")

    def backoff_s(self, retry: int, rng: random.Random) -> float:
        """The wait before the `retry`-th retry (1-based), jittered."""
        growth = self.backoff_multiplier ** (retry - 1)
        cap = min(self.backoff_max_s, self.backoff_initial_s * growth)
        return cap / 2 + rng.uniform(0, cap / 2)


NO_RETRY = RetryPolicy(max_attempts=1)
# Bulk upload is patient: a batch rejected by a busy server is worth waiting for.
UPLOAD_RETRY = RetryPolicy(max_attempts=10, max_total_s=300.0, backoff_max_s=10.0)


def retry_after_s(header: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())

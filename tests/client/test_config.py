"""The retry policy's arithmetic, Retry-After parsing and the status-to-error mapping."""

from __future__ import annotations

import email.utils
import random
import time

import pytest

from zoro.client import (
    AuthenticationError,
    Conflict,
    DimensionMismatch,
    InvalidInput,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    RetryPolicy,
    ServerError,
    StorageFull,
    Timeouts,
    Unavailable,
)
from zoro.client._config import retry_after_s
from zoro.client._errors import error_for_status


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(backoff_initial_s=0.1, backoff_multiplier=2.0, backoff_max_s=1.0)
    rng = random.Random(0)
    for retry, cap in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        waits = [policy.backoff_s(retry, rng) for _ in range(200)]
        assert cap / 2 <= min(waits)
        assert max(waits) <= cap
        assert max(waits) - min(waits) > cap / 4  # actually spread out


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    assert Timeouts.of(2.0) == Timeouts(2.0, 2.0, 2.0, 2.0)
    assert Timeouts.of(30.0).connect_s == 5.0


def test_retry_after_seconds_and_dates() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s(" 1.5 ") == 1.5
    assert retry_after_s(None) is None
    assert retry_after_s("soon") is None
    when = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= (retry_after_s(when) or 0) <= 10.0


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidInput),
        (401, AuthenticationError),
        (403, AuthenticationError),
        (404, NotFound),
        (409, Conflict),
        (413, PayloadTooLarge),
        (429, Overloaded),
        (503, Unavailable),
        (500, ServerError),
        (507, StorageFull),
        (418, InvalidInput),
        (599, ServerError),
    ],
)
def test_statuses_map_to_the_hierarchy(status: int, kind: type[Exception]) -> None:
    error = error_for_status(status, "the server's words", 2.0)
    assert type(error) is kind
    assert (error.message, error.status, error.retry_after_s) == ("the server's words", status, 2.0)
    assert str(error) == "the server's words"


def test_a_dimension_400_is_a_dimension_mismatch() -> None:
    error = error_for_status(400, "vector: expected dimension 4, got 3")
    assert isinstance(error, DimensionMismatch)
    assert isinstance(error, InvalidInput)

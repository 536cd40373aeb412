"""The retry policy on its own: no database, no settings."""

import pytest

from newsletter.retry import RetryPolicy


def test_the_wait_grows_by_the_factor_from_the_first_delay():
    policy = RetryPolicy(first_delay_seconds=60, factor=2, max_attempts=5)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_before_any_attempt_the_wait_is_the_first_delay():
    # A connection that failed before a message was handed over counts no attempt.
    assert RetryPolicy(first_delay_seconds=60).delay(0) == 60


def test_a_factor_of_one_waits_the_same_each_time():
    policy = RetryPolicy(first_delay_seconds=900, factor=1, max_attempts=3)
    assert {policy.delay(attempt) for attempt in (1, 2, 3)} == {900}


def test_no_wait_is_longer_than_the_bound():
    policy = RetryPolicy(first_delay_seconds=60, factor=2, max_delay_seconds=200)
    assert [policy.delay(attempt) for attempt in (1, 2, 3, 10)] == [60, 120, 200, 200]


def test_it_gives_up_after_max_attempts():
    policy = RetryPolicy(first_delay_seconds=1, max_attempts=3)
    assert [policy.exhausted(attempts) for attempts in (1, 2, 3, 4)] == [False, False, True, True]


def test_it_is_a_value():
    policy = RetryPolicy(first_delay_seconds=1)
    assert policy == RetryPolicy(first_delay_seconds=1)
    with pytest.raises(AttributeError):
        policy.factor = 3

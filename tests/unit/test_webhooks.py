"""When a failed webhook delivery is tried again or parked (a pure rule): examples here,
properties in test_gateway_webhook_policy.py, the subscription API in test_gateway_subscriptions.py."""

from datetime import UTC, datetime, timedelta

from services.gateway.webhooks.policy import RetryPolicy

FIRST = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(first_delay=5, max_delay=3600, retry_for=timedelta(hours=24))


def upper(low: float, high: float) -> float:
    return high


def lower(low: float, high: float) -> float:
    return low


def test_the_delay_doubles_from_the_first_and_is_capped():
    assert [POLICY.delay(n, upper) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert POLICY.delay(20, upper) == 3600


def test_the_jitter_stays_in_the_upper_half_of_the_delay():
    assert POLICY.delay(3, lower) == 10
    assert all(10 <= POLICY.delay(3) <= 20 for _ in range(200))


def test_a_failure_inside_the_window_is_retried_after_the_delay():
    now = FIRST + timedelta(seconds=1)
    assert POLICY.next_attempt(1, FIRST, now, upper) == now + timedelta(seconds=5)


def test_the_last_retry_falls_on_the_end_of_the_window():
    now = FIRST + timedelta(hours=24) - timedelta(seconds=10)
    assert POLICY.next_attempt(30, FIRST, now, upper) == FIRST + timedelta(hours=24)


def test_a_failure_once_the_window_has_passed_parks_the_delivery():
    assert POLICY.next_attempt(30, FIRST, FIRST + timedelta(hours=24), upper) is None

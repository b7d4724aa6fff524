"""The webhook retry policy (services/gateway/webhooks/policy.py) as properties."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.webhooks.policy import RetryPolicy

FIRST = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

policies = st.builds(
    RetryPolicy,
    first_delay=st.floats(0.01, 60),
    max_delay=st.floats(0.01, 7200),
    retry_for=st.integers(1, 48 * 3600).map(lambda s: timedelta(seconds=s)),
)
attempts = st.integers(1, 10_000)
jitter = st.sampled_from([lambda low, high: low, lambda low, high: high, lambda low, high: (low + high) / 2])


@given(policies, attempts, jitter)
def test_a_delay_never_exceeds_the_cap_and_is_at_least_half_of_it(policy, n, uniform):
    ceiling = min(policy.max_delay, policy.first_delay * 2.0 ** min(n - 1, 1000))

    assert ceiling / 2 <= policy.delay(n, uniform) <= min(ceiling, policy.max_delay)


@given(policies, attempts)
def test_the_delay_never_shrinks_as_failures_add_up(policy, n):
    def upper(low, high):
        return high

    assert policy.delay(n, upper) <= policy.delay(n + 1, upper)


@given(policies, attempts, st.integers(0, 49 * 3600), jitter)
def test_a_retry_falls_inside_the_window_or_the_delivery_is_parked(policy, n, elapsed, uniform):
    now = FIRST + timedelta(seconds=elapsed)
    window_end = FIRST + policy.retry_for

    retry_at = policy.next_attempt(n, FIRST, now, uniform)

    if now >= window_end:
        assert retry_at is None
    else:
        assert now < retry_at <= window_end
        assert retry_at - now <= timedelta(seconds=policy.max_delay)


@given(policies, attempts)
def test_the_last_attempt_falls_on_the_end_of_the_window(policy, n):
    just_before = FIRST + policy.retry_for - timedelta(microseconds=1)

    retry_at = policy.next_attempt(n, FIRST, just_before, lambda low, high: high)

    assert retry_at == min(FIRST + policy.retry_for, just_before + timedelta(seconds=policy.delay(n, lambda a, b: b)))
    assert policy.next_attempt(n, FIRST, FIRST + policy.retry_for) is None

"""Webhooks without a database: when a failed delivery is tried again or parked (a pure rule),
and the subscription checks made before anything is stored."""

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from services.gateway.subscriptions_api import build_subscriptions_router
from services.gateway.webhooks import RetryPolicy
from services.runtime.auth import Caller, Role, TokenRegistry, digest
from services.runtime.problems import install_problem_handlers

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


def subscriptions_api(environment: str) -> httpx.AsyncClient:
    """The routes alone, with one system token and no database: enough for what is refused up front."""
    app = FastAPI()
    app.state.tokens = TokenRegistry({digest("system-token"): Caller("kommun-1489", Role.SYSTEM)})
    app.include_router(build_subscriptions_router("kommun-1489", environment))
    install_problem_handlers(app)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url="http://gateway", headers={"Authorization": "Bearer system-token"}
    )


async def test_production_takes_https_endpoints_only():
    body = {"url": "http://partner.example/hooks", "secret": "s" * 32}

    async with subscriptions_api("production") as api:
        response = await api.post("/v1/subscriptions", json=body)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://samordna.se/problems/invalid-request",
        "title": "Invalid request",
        "status": 422,
        "detail": "must be an https URL in production",
        "errors": [{"field": "url", "message": "must be an https URL in production"}],
    }


async def test_an_unknown_event_type_is_named_by_its_index():
    body = {"url": "https://partner.example/hooks", "secret": "s" * 32, "event_types": ["se.samordna.nothing.v1"]}

    async with subscriptions_api("development") as api:
        response = await api.post("/v1/subscriptions", json=body)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["event_types.0"]

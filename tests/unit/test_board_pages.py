"""The board's web pages over ASGI with the in-memory store: the sessions, what ops and a
coordinator may open, CSRF, the access log, and that the pages answer HTML (never problem details)."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from asgi_lifespan import LifespanManager
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.board.deps import COOKIE
from services.board.sessions import Kind
from services.board.settings import BoardSettings
from tests.unit.fakes_board import (
    NOW,
    TOKENS,
    InMemoryAccessLog,
    InMemorySessions,
    board_app,
    seeded_store,
    served,
    staff_of,
)

HTML = "text/html; charset=utf-8"


@pytest.fixture
def sessions() -> InMemorySessions:
    return InMemorySessions()


@pytest.fixture
def access_log() -> InMemoryAccessLog:
    return InMemoryAccessLog()


@pytest.fixture
async def browser(sessions, access_log) -> AsyncIterator[httpx.AsyncClient]:
    app = board_app(await seeded_store(), sessions=sessions, access_log=access_log)
    async with served(app) as c:
        yield c


async def signed_in(browser: httpx.AsyncClient, sessions: InMemorySessions, token: str) -> httpx.AsyncClient:
    """As the provider's answer leaves it: a staff session on the server, its key in the cookie."""
    session = await sessions.create(Kind.STAFF, {"staff": staff_of(TOKENS[token]).as_dict()}, NOW)
    browser.cookies.set(COOKIE, session.key)
    return browser


async def test_without_a_session_the_pages_offer_the_sign_in(browser):
    start = await browser.get("/")
    person = await browser.get("/person/x")
    statistics = await browser.get("/statistik")
    rows = await browser.get("/rader")

    assert start.status_code == 200 and start.headers["content-type"] == HTML
    assert start.headers["cache-control"] == "no-store"
    assert person.status_code == statistics.status_code == 401
    assert "Logga in" in person.text and 'name="token"' not in person.text
    assert rows.status_code == 401 and rows.text == "Inte inloggad"
    assert "frame-ancestors 'none'" in start.headers["content-security-policy"]


async def test_a_bearer_token_in_the_cookie_signs_no_one_in(browser):
    browser.cookies.set(COOKIE, "alingsas")  # a coordinator's token, as the old login kept it

    assert (await browser.get("/rader")).status_code == 401


async def test_a_session_past_its_idle_timeout_ends_with_a_notice(browser, sessions):
    await signed_in(browser, sessions, "alingsas")
    key = browser.cookies[COOKIE]
    s = sessions.sessions[key]
    sessions.sessions[key] = replace(s, last_seen_at=s.last_seen_at - timedelta(minutes=31))

    page = await browser.get("/")

    assert "inaktiv för länge" in page.text and key not in sessions.sessions


async def test_the_live_stream_keeps_no_session_alive(browser, sessions):
    await signed_in(browser, sessions, "alingsas")
    key = browser.cookies[COOKIE]
    before = sessions.sessions[key].last_seen_at

    await browser.get("/rader")

    assert sessions.sessions[key].last_seen_at == before


async def test_ops_is_sent_to_the_dashboard_and_never_shown_a_person(browser, sessions):
    await signed_in(browser, sessions, "ops")

    start = await browser.get("/")
    person = await browser.get("/person/anything")
    rows = await browser.get("/rader")
    live = await browser.get("/live")
    dashboard = await browser.get("/drift")
    statistics = await browser.get("/statistik")

    assert start.status_code == 303 and start.headers["location"] == "/drift"
    assert person.status_code == 403 and person.headers["content-type"] == HTML
    assert rows.status_code == 403 and rows.text == "Personer visas inte för drift"
    assert live.status_code == 401
    assert dashboard.status_code == 200 and statistics.status_code == 200


async def test_a_coordinator_sees_its_board_and_the_person_but_not_the_ops_dashboard(browser, sessions, access_log):
    await signed_in(browser, sessions, "alingsas")

    board = await browser.get("/", params={"alert": "no_such_alert", "sort": "age"})  # read as no filter
    handle = board.text.split('data-handle="')[1].split('"')[0]
    person = await browser.get(f"/person/{handle}")
    dashboard = await browser.get("/drift")

    assert board.status_code == 200 and "Positivt prov" in board.text
    assert person.status_code == 200 and "Positivt prov" in person.text
    assert dashboard.status_code == 404 and dashboard.headers["content-type"] == HTML
    assert [(a.action, a.person, a.who.unit) for a in access_log.entries] == [
        ("board.rows", handle, "Enheten"),
        ("board.timeline", handle, "Enheten"),
    ]


async def test_a_person_not_on_the_board_is_the_not_found_page_not_problem_details(browser, sessions, access_log):
    await signed_in(browser, sessions, "lerum")

    response = await browser.get("/person/no-such-handle")

    assert response.status_code == 404
    assert response.headers["content-type"] == HTML
    assert access_log.entries == []


async def test_the_statistics_for_the_browser_are_the_apis(browser, sessions):
    await signed_in(browser, sessions, "alingsas")

    report = await browser.get("/statistik.json")
    csv = await browser.get("/statistik.csv")

    assert report.json()["scope"] == "kommun-1489"
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines()[0] == "avsnitt,grupp,månad,antal"


async def test_the_log_out_needs_the_sessions_csrf_token_and_then_ends_the_session(browser, sessions):
    await signed_in(browser, sessions, "alingsas")
    key = browser.cookies[COOKIE]
    board = await browser.get("/")
    csrf = board.text.split('name="csrf" value="')[1].split('"')[0]

    guessed = await browser.post("/logga-ut", data={"csrf": "guessed"})
    cross_site = await browser.post("/logga-ut", data={"csrf": csrf}, headers={"Origin": "https://evil.example"})
    assert guessed.status_code == cross_site.status_code == 403 and key in sessions.sessions

    response = await browser.post("/logga-ut", data={"csrf": csrf}, headers={"Origin": "http://board"})

    assert response.status_code == 303 and response.headers["location"] == "/utloggad"
    assert f'{COOKIE}=""' in response.headers["set-cookie"] and key not in sessions.sessions


@pytest.mark.parametrize(("client_address", "secure"), [("127.0.0.1", True), ("10.1.2.3", False)])
async def test_cookies_are_secure_behind_the_trusted_tls_proxy_only(sessions, client_address, secure):
    """What uvicorn does with SAMORDNA_TRUSTED_PROXIES (its forwarded_allow_ips): X-Forwarded-Proto
    is believed from the proxy alone, and then the board's cookies are Secure."""
    app = board_app(await seeded_store(), sessions=sessions)
    behind_proxy = ProxyHeadersMiddleware(app, trusted_hosts=BoardSettings().trusted_proxies)
    transport = httpx.ASGITransport(behind_proxy, client=(client_address, 40000))
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://board") as browser:
        await signed_in(browser, sessions, "alingsas")
        board = await browser.get("/", headers={"X-Forwarded-Proto": "https"})
        csrf = board.text.split('name="csrf" value="')[1].split('"')[0]

        response = await browser.post("/logga-ut", data={"csrf": csrf}, headers={"X-Forwarded-Proto": "https"})

    assert response.status_code == 303
    assert ("Secure" in response.headers["set-cookie"]) is secure


async def test_the_statistics_page_draws_its_charts_beside_the_tables_for_the_period_chosen(browser, sessions):
    await signed_in(browser, sessions, "ops")

    page = await browser.get("/statistik", params={"from": "2026-09", "to": "2026-11"})
    csv = await browser.get("/statistik.csv", params={"from": "2026-09", "to": "2026-11"})

    assert page.status_code == 200
    assert 'value="2026-09"' in page.text and 'value="2026-11"' in page.text
    assert page.text.count('<th scope="row">2026-') == 3
    assert 'href="/statistik.csv?from=2026-09&amp;to=2026-11"' in page.text
    assert [line.split(",")[2] for line in csv.text.splitlines()[1:4]] == ["2026-09", "2026-10", "2026-11"]


async def test_a_period_that_is_not_one_is_shown_next_to_its_field(browser, sessions):
    await signed_in(browser, sessions, "alingsas")

    page = await browser.get("/statistik", params={"from": "2026-10", "to": "2026-02"})
    csv = await browser.get("/statistik.csv", params={"to": "2030-01"})

    assert page.status_code == 422 and page.headers["content-type"] == HTML
    assert 'aria-invalid="true" aria-describedby="fran-fel"' in page.text and 'id="fran-fel"' in page.text
    assert csv.status_code == 422 and csv.text.startswith("to: ")

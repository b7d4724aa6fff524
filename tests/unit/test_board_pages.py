"""The board's web pages over ASGI with the in-memory store: the login, what ops and a
coordinator may open, and that the pages answer HTML (never problem details) as before."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.board.deps import COOKIE
from tests.unit.fakes_board import board_app, seeded_store, served

HTML = "text/html; charset=utf-8"


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    app = board_app(await seeded_store())
    async with served(app) as c:
        yield c


async def logged_in(browser: httpx.AsyncClient, token: str) -> httpx.AsyncClient:
    response = await browser.post("/logga-in", data={"token": token})
    assert response.status_code == 303 and response.headers["location"] == "/"
    return browser


async def test_without_a_login_the_pages_show_the_login_form(browser):
    start = await browser.get("/")
    person = await browser.get("/person/x")
    statistics = await browser.get("/statistik")
    rows = await browser.get("/rader")

    assert start.status_code == 200 and start.headers["content-type"] == HTML
    assert person.status_code == statistics.status_code == 401
    assert 'name="token"' in person.text
    assert rows.status_code == 401 and rows.text == "Inte inloggad"
    assert "frame-ancestors 'none'" in start.headers["content-security-policy"]


@pytest.mark.parametrize("token", ["no-such-token", "system"])
async def test_only_a_coordinators_or_ops_token_logs_in(browser, token):
    response = await browser.post("/logga-in", data={"token": token})

    assert response.status_code == 401
    assert "Nyckeln gäller inte för tavlan" in response.text
    assert COOKIE not in response.cookies


async def test_a_login_keeps_the_token_in_a_strict_http_only_cookie(browser):
    response = await browser.post("/logga-in", data={"token": "region"})

    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=region") and "HttpOnly" in cookie and "SameSite=strict" in cookie


async def test_ops_is_sent_to_the_dashboard_and_never_shown_a_person(browser):
    await logged_in(browser, "ops")

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


async def test_a_coordinator_sees_its_board_and_the_person_but_not_the_ops_dashboard(browser):
    await logged_in(browser, "alingsas")

    board = await browser.get("/", params={"alert": "no_such_alert", "sort": "age"})  # read as no filter
    handle = board.text.split('data-handle="')[1].split('"')[0]
    person = await browser.get(f"/person/{handle}")
    dashboard = await browser.get("/drift")

    assert board.status_code == 200 and "Positivt prov" in board.text
    assert person.status_code == 200 and "Positivt prov" in person.text
    assert dashboard.status_code == 404 and dashboard.headers["content-type"] == HTML


async def test_a_person_not_on_the_board_is_the_not_found_page_not_problem_details(browser):
    await logged_in(browser, "lerum")

    response = await browser.get("/person/no-such-handle")

    assert response.status_code == 404
    assert response.headers["content-type"] == HTML


async def test_the_statistics_for_the_browser_are_the_apis(browser):
    await logged_in(browser, "alingsas")

    report = await browser.get("/statistik.json")
    csv = await browser.get("/statistik.csv")

    assert report.json()["scope"] == "kommun-1489"
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.text.splitlines()[0] == "avsnitt,grupp,månad,antal"


async def test_the_log_out_drops_the_cookie(browser):
    await logged_in(browser, "alingsas")
    response = await browser.post("/logga-ut")

    assert response.status_code == 303 and f'{COOKIE}=""' in response.headers["set-cookie"]

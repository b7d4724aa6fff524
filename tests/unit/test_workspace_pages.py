"""The workspace's pages over ASGI with the in-memory store, the parts that need no other service:
who may open them, that every answer is `no-store` with CSRF on every form and a label for every
input, and that what the page can judge itself (a personnummer, a missing CSRF token) is refused
before anything is sent. What the APIs answer is the browser tests' (tests/browser/test_workspace_*)."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from services.board.deps import COOKIE
from services.board.sessions import Kind
from tests.unit.fakes_board import NOW, TOKENS, InMemorySessions, board_app, seeded_store, served, staff_of

PAGES = ["/samtycke", "/samtycke/nytt", "/samtycke/utgar", "/registrera", "/sip", "/registrera/visit.missed",
         "/registrera/sip.plan_updated"]  # fmt: skip


@pytest.fixture
def sessions() -> InMemorySessions:
    return InMemorySessions()


@pytest.fixture
async def browser(sessions) -> AsyncIterator[httpx.AsyncClient]:
    async with served(board_app(await seeded_store(), sessions=sessions)) as client:
        yield client


async def sign_in(browser, sessions, token: str) -> str:
    session = await sessions.create(Kind.STAFF, {"staff": staff_of(TOKENS[token]).as_dict()}, NOW)
    browser.cookies.set(COOKIE, session.key)
    return session.data["csrf"]


@pytest.mark.parametrize("path", PAGES)
async def test_a_coordinators_workspace_page_has_csrf_on_every_form_and_a_label_for_every_input(
    browser, sessions, path
):
    csrf = await sign_in(browser, sessions, "region")

    page = await browser.get(path)

    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    forms = re.findall(r"<form [^>]*method=\"post\".*?</form>", page.text, re.S)
    assert forms and all(f'name="csrf" value="{csrf}"' in form for form in forms)
    ids = re.findall(r"<(?:input|select|textarea)(?![^>]*type=\"hidden\")[^>]*\bid=\"([^\"]+)\"", page.text)
    assert all(f'for="{i}"' in page.text for i in ids), ids
    assert 'href="/samtycke"' in page.text and 'href="/registrera"' in page.text and 'href="/sip"' in page.text


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_the_workspace_offers_the_sign_in_and_ops_is_refused(browser, sessions, path):
    signed_out = await browser.get(path)
    await sign_in(browser, sessions, "ops")
    ops = await browser.get(path)

    assert signed_out.status_code == 401 and "Logga in" in signed_out.text
    assert ops.status_code == 403


async def test_a_type_the_principal_may_not_send_is_not_found(browser, sessions):
    await sign_in(browser, sessions, "alingsas")

    assert (await browser.get("/registrera/visit.missed")).status_code == 404
    assert (await browser.get("/registrera/intervention.missed")).status_code == 200


async def test_a_post_without_the_sessions_csrf_token_is_refused(browser, sessions):
    await sign_in(browser, sessions, "region")

    for path in ("/samtycke/nytt", "/samtycke/person", "/samtycke/aterkalla", "/registrera/visit.missed"):
        response = await browser.post(path, data={"csrf": "forged", "person": "19840317-0000"})
        assert response.status_code == 403, path


async def test_an_invalid_personnummer_is_named_at_its_field_and_never_echoed(browser, sessions):
    csrf = await sign_in(browser, sessions, "region")

    response = await browser.post("/samtycke/person", data={"csrf": csrf, "person": "19840317-0000"})

    assert response.status_code == 422
    assert 'id="f-person-fel"' in response.text and 'aria-describedby="f-person-hjalp f-person-fel"' in response.text
    assert "19840317-0000" not in response.text


async def test_adding_a_row_to_the_sip_plan_sends_nothing_and_keeps_what_was_written(browser, sessions):
    csrf = await sign_in(browser, sessions, "region")

    response = await browser.post("/registrera/sip.plan_updated", data={
        "csrf": csrf, "data.goals": "Eget boende", "data.responsibilities.0.task": "Boendestöd",
        "data.responsibilities.count": "3", "add_row": "data.responsibilities"})  # fmt: skip

    assert response.status_code == 200
    assert 'name="data.responsibilities.3.task"' in response.text
    assert "Eget boende" in response.text and 'value="Boendestöd"' in response.text

"""Signing in through the organisation's identity provider (Keycloak's real login page), in a real
browser: the session kept on the server, sign-out here and at the provider, a session that ends,
providers that may not vouch for what they say, forms posted from elsewhere, and the access log."""

import hashlib
import re

import asyncpg
import pytest
from playwright.async_api import expect

from contracts.principals import display_name
from services.board.sessions import open_data
from tests.browser.conftest import through_keycloak
from tests.support.client import event

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"


async def session_cookie(page):
    return next(c for c in await page.context.cookies() if c["name"] == "samordna_tavla")


@pytest.fixture
async def board_db(running_stack):
    conn = await asyncpg.connect(running_stack.dsn, server_settings={"search_path": "board"})
    yield conn
    await conn.close()


async def test_a_coordinator_signs_in_at_keycloak_and_the_cookie_holds_only_a_session_key(sign_in, board_url, board_db):
    page = await sign_in(ALINGSAS, "samordnare")

    await expect(page).to_have_url(f"{board_url}/")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Samordningstavla – Alingsås")
    await expect(page.locator(".inloggad")).to_contain_text("Samordningsteamet Alingsås")
    cookie = await session_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert "." not in cookie["value"] and len(cookie["value"]) < 64  # a random key, not a JWT
    row = await board_db.fetchrow(
        "SELECT kind, data FROM web_sessions WHERE key_sha256 = $1",
        hashlib.sha256(cookie["value"].encode()).hexdigest(),
    )
    assert row["kind"] == "staff" and open_data(cookie["value"], row["data"])["staff"]["principal"] == ALINGSAS
    assert "kommun-1489" not in row["data"] and "access_token" not in row["data"], "sealed, not in the clear"
    response = await page.request.get(f"{board_url}/")
    assert response.headers["cache-control"] == "no-store"


async def test_signing_out_ends_the_session_here_and_at_the_provider(sign_in, board_url, identity_provider):
    page = await sign_in(REGION, "samordnare")
    key = (await session_cookie(page))["value"]

    await page.get_by_role("button", name="Logga ut").click()

    await expect(page).to_have_url(re.compile(rf"^{re.escape(board_url)}/utloggad(\?state=.*)?$"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Du är utloggad")
    replayed = await page.request.get(f"{board_url}/rader", headers={"Cookie": f"samordna_tavla={key}"})
    assert replayed.status == 401  # the old key opens nothing any more
    await page.goto(f"{board_url}/")
    await page.get_by_role("link", name=f"Logga in via {display_name(REGION)}").click()
    await expect(page.locator("#password")).to_be_visible()  # the provider asks again: its session ended too


async def test_a_session_idle_past_its_timeout_is_signed_out(sign_in, board_url, board_db):
    page = await sign_in(LERUM, "samordnare")
    digest = hashlib.sha256((await session_cookie(page))["value"].encode()).hexdigest()

    # the clock moves on: the session was last used 31 minutes ago (the idle timeout is 30)
    await board_db.execute(
        "UPDATE web_sessions SET last_seen_at = last_seen_at - interval '31 minutes' WHERE key_sha256 = $1", digest
    )
    await page.reload()

    await expect(page.get_by_role("status")).to_have_text(re.compile("inaktiv för länge"))
    await expect(page.get_by_role("link", name=re.compile("Logga in via"))).to_have_count(3)
    ended = await board_db.fetchrow("SELECT kind, data FROM web_sessions WHERE key_sha256 = $1", digest)
    assert (ended["kind"], ended["data"]) == ("ended:idle", "{}")  # nothing of the user's is kept


@pytest.mark.parametrize(
    ("realm", "username", "why"),
    [
        (LERUM, "annan-huvudman", "får inte intyga den huvudman"),  # Lerum's provider says: Alingsås
        (ALINGSAS, "obehorig-drift", "driftbehörighet"),  # Alingsås' provider says: ops, for its own staff
    ],
)
async def test_a_provider_is_refused_what_it_may_not_vouch_for(
    browser, board_url, identity_provider, realm, username, why
):
    context = await browser.new_context(locale="sv-SE")
    try:
        page = await context.new_page()
        password = identity_provider[(realm, username)]["password"]
        await through_keycloak(page, board_url, display_name(realm), username, password)

        await expect(page.get_by_role("heading", level=1)).to_have_text("Inloggningen nekades")
        await expect(page.get_by_role("alert")).to_contain_text(why)
        assert not [c for c in await context.cookies() if c["name"] == "samordna_tavla"]
    finally:
        await context.close()


async def test_a_form_posted_from_another_site_or_without_the_token_is_refused(sign_in, board_url):
    page = await sign_in(ALINGSAS, "samordnare")
    key = (await session_cookie(page))["value"]
    elsewhere = await page.context.new_page()
    await elsewhere.set_content(
        f'<form method="post" action="{board_url}/logga-ut"><input name="csrf" value="gissad">'
        "<button>Vinn en resa</button></form>"
    )

    await elsewhere.get_by_role("button", name="Vinn en resa").click()  # the cookie stays home (SameSite)
    await elsewhere.wait_for_load_state()
    # the same post with the cookie (as an older browser would send it), and one from our own page
    with_cookie = await page.request.post(f"{board_url}/logga-ut", form={"csrf": "gissad"})
    await page.evaluate("document.querySelector('form.logga-ut input[name=csrf]').value = 'gissad'")
    await page.get_by_role("button", name="Logga ut").click()

    assert with_cookie.status == 403
    await expect(page.get_by_role("heading", level=1)).to_have_text("Formuläret nekades")
    assert (await session_cookie(page))["value"] == key
    await page.goto(f"{board_url}/")  # still signed in: nothing was done
    await expect(page.get_by_role("heading", level=1)).to_have_text("Samordningstavla – Alingsås")


async def test_a_timeline_view_is_in_the_access_log_with_who_unit_and_the_pseudonym(client, sign_in, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    page = await sign_in(ALINGSAS, "samordnare")
    row = page.locator("#rader tr", has_text=person)
    await expect(row).to_have_count(1)
    handle = await row.get_attribute("data-handle")

    await row.get_by_role("link", name=person).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(person)

    found = await client.http.post(
        client.url("board", "/v1/access-log/search"), json={"person": person},
        headers=client._auth(ALINGSAS, "coordinator"),
    )  # fmt: skip
    assert found.headers["cache-control"] == "no-store"
    entries = found.json()["entries"]
    timeline = [e for e in entries if e["action"] == "board.timeline"]
    assert len(timeline) == 1 and timeline[0]["person"] == handle
    assert timeline[0]["principal"] == ALINGSAS and timeline[0]["unit"] == "Samordningsteamet Alingsås"
    assert timeline[0]["hsa_id"].startswith("SE") and timeline[0]["name"] == "Samordnare Alingsås"
    assert any(e["action"] == "board.rows" for e in entries)
    assert person not in found.text  # only the pseudonym names the person
    lerum = await client.http.post(
        client.url("board", "/v1/access-log/search"), json={"person": person},
        headers=client._auth(LERUM, "coordinator"),
    )  # fmt: skip
    assert [e for e in lerum.json()["entries"] if e["action"].startswith("board.")] == []

"""The workspace's token relay against the real Keycloak: an access token about to expire is
refreshed with the refresh token (Authlib) before the page calls the consent service, and a session
whose refresh token the provider refuses ends with a Swedish page saying to sign in again."""

import asyncpg
from playwright.async_api import Page, expect

from services.board.deps import COOKIE
from services.board.sessions import digest, open_data, seal_data

REGION = "region-14"


async def tokens_of(conn: asyncpg.Connection, page: Page) -> tuple[str, dict]:
    """The session's key (the cookie's) and its data, opened with it as the board does."""
    [key] = [c["value"] for c in await page.context.cookies() if c["name"] == COOKIE]
    stored = await conn.fetchval("SELECT data FROM board.web_sessions WHERE key_sha256 = $1", digest(key))
    assert "access_token" not in stored and "refresh_token" not in stored, "sealed, not in the clear"
    return key, open_data(key, stored)


async def set_tokens(conn: asyncpg.Connection, key: str, data: dict, **changes) -> None:
    data = {**data, "tokens": {**data["tokens"], **changes}}
    await conn.execute(
        "UPDATE board.web_sessions SET data = $2 WHERE key_sha256 = $1", digest(key), seal_data(key, data)
    )


async def find_person(page: Page, board_url: str, person: str) -> None:
    await page.goto(f"{board_url}/samtycke")
    await page.get_by_label("Personnummer eller samordningsnummer").fill(person)
    await page.get_by_role("button", name="Visa samtycken").click()


async def test_an_expiring_access_token_is_refreshed_and_a_refused_refresh_ends_the_session(
    running_stack, board_url, log_in, person
):
    page = await log_in(REGION, "coordinator")
    conn = await asyncpg.connect(running_stack.dsn)
    try:
        key, data = await tokens_of(conn, page)
        assert data["tokens"]["access_token"] and data["tokens"]["refresh_token"]
        await set_tokens(conn, key, data, expires_at=0)  # as if it had expired

        await find_person(page, board_url, person)

        await expect(page.get_by_role("heading", level=1)).to_have_text(f"Samtycken för {person}")
        _, renewed = await tokens_of(conn, page)
        assert renewed["tokens"]["access_token"] != data["tokens"]["access_token"]
        # whole seconds: a refresh within the second of the sign-in expires at the same second
        # (a fresh clone's CI saw that); what matters is a real expiry instead of the 0 set above
        assert renewed["tokens"]["expires_at"] >= data["tokens"]["expires_at"]

        await set_tokens(conn, key, renewed, expires_at=0, refresh_token="not-a-refresh-token")
        await find_person(page, board_url, person)

        await expect(page.get_by_role("alert")).to_contain_text("Din inloggning kunde inte förnyas")
        await expect(page.get_by_role("link", name="Logga in via Västra Götalandsregionen")).to_be_visible()
        assert await conn.fetchval("SELECT count(*) FROM board.web_sessions WHERE key_sha256 = $1", digest(key)) == 0
    finally:
        await conn.close()

"""A signed-in staff session on the running board, made as its sign-in makes one
(services/board/sessions.py), for tests that read the web pages over plain HTTP to check what a
principal sees there. Signing in itself, through the identity provider, is tests/browser's."""

from datetime import UTC, datetime, timedelta

import asyncpg

from services.board.sessions import Kind, SessionStore, Timeouts
from services.runtime.identity import Caller, Role
from services.runtime.oidc import Staff

COOKIE = "samordna_tavla"


async def staff_session(info: dict, principal: str, role: str = "coordinator") -> str:
    """The session key (the cookie's value) of a member of staff of `principal` in `role`."""
    conn = await asyncpg.connect(info["postgres"]["dsn"], server_settings={"search_path": "board"})
    try:
        store = SessionStore(conn, Timeouts(timedelta(hours=1), timedelta(hours=10)))
        staff = Staff(Caller(principal, Role(role)), "https://idp.test", f"test-{principal}", "Test", None, None)
        session = await store.create(Kind.STAFF, {"staff": staff.as_dict()}, datetime.now(UTC))
    finally:
        await conn.close()
    return session.key

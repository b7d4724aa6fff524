"""The web pages' sessions, kept on the server: the cookie holds only a random session key, the
table only its SHA-256, and what the session holds (who the user is, the CSRF token, the
provider's tokens) sealed with AES-256-GCM under a key derived from the session key (HKDF): a
database row, a backup or a disk image opens nothing without the cookie, and the cookie is no
token of the provider's. The board keeps no key of its own for them.

Two kinds: a sign-in under way (`pending`: Authlib's state, nonce and code verifier, between the
redirect to the provider and its answer) and a signed-in member of staff (`staff`: who they are,
the CSRF token of their forms, the ID token for the logout hint). Signing in replaces the pending
session by a new one with a new key (no session fixation). A session ends when logged out, after
`idle` without a request, or `absolute` after sign-in, whichever comes first (`expiry`, pure).
"""

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PENDING_SECONDS = 600  # a sign-in not finished within ten minutes starts again
ENDED_KEPT = timedelta(hours=1)  # how long a timed-out session still explains itself
ENDED_PREFIX = "ended:"


class Kind(StrEnum):
    PENDING = "pending"
    STAFF = "staff"


class Ended(StrEnum):
    IDLE = "idle"
    ABSOLUTE = "absolute"


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Session:
    key: str  # what the cookie holds; never stored
    kind: Kind
    data: dict
    created_at: datetime
    last_seen_at: datetime


def expiry(created_at: datetime, last_seen_at: datetime, now: datetime, timeouts: Timeouts) -> Ended | None:
    """Why a session has ended by `now`, or None while it lives."""
    if now - created_at >= timeouts.absolute:
        return Ended.ABSOLUTE
    if now - last_seen_at >= timeouts.idle:
        return Ended.IDLE
    return None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


def _aead(key: str) -> AESGCM:
    derived = HKDF(hashes.SHA256(), length=32, salt=None, info=b"samordna web session data").derive(key.encode())
    return AESGCM(derived)


def seal_data(key: str, data: dict) -> str:
    """The session's data as stored: sealed under the session key, bound to its row."""
    nonce = os.urandom(12)
    sealed = _aead(key).encrypt(nonce, json.dumps(data).encode(), digest(key).encode())
    return json.dumps({"sealed": base64.b64encode(nonce + sealed).decode()})


def open_data(key: str, stored: str) -> dict | None:
    """The data of a stored session, or None if this key does not open it (or it was stored in
    the clear by an earlier version: its user signs in again)."""
    try:
        raw = base64.b64decode(json.loads(stored)["sealed"])
        return json.loads(_aead(key).decrypt(raw[:12], raw[12:], digest(key).encode()))
    except (KeyError, TypeError, ValueError, InvalidTag):
        return None


def csrf_matches(session: Session | None, presented: str | None) -> bool:
    expected = (session.data.get("csrf") if session else None) or ""
    return bool(expected and presented) and secrets.compare_digest(expected, presented)


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS web_sessions (
    key_sha256   text PRIMARY KEY,
    kind         text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_by_last_seen ON web_sessions (last_seen_at);
"""


class SessionStore:
    """Sessions in the board's PostgreSQL schema, so that every board replica knows every session."""

    def __init__(self, pool: asyncpg.Pool, timeouts: Timeouts) -> None:
        self._pool = pool
        self.timeouts = timeouts

    async def create(self, kind: Kind, data: dict, now: datetime) -> Session:
        key = new_key()
        if kind is Kind.STAFF:
            data = {**data, "csrf": secrets.token_urlsafe(32)}
        await self._pool.execute(
            "INSERT INTO web_sessions (key_sha256, kind, data, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
            digest(key), kind.value, seal_data(key, data), now,
        )  # fmt: skip
        return Session(key, kind, data, now, now)

    async def find(
        self, key: str | None, kind: Kind, now: datetime, touch: bool = True
    ) -> tuple[Session | None, Ended | None]:
        """The live session of this key and kind, or why there is none. With `touch`, its last use
        moves to `now`: what the page fetches by itself (the live stream) keeps no session alive.

        A session that has timed out is kept for a while as `ended:<why>` with nothing in it, so
        that the page the user opens next can say why they must sign in again, whichever request
        (perhaps the live stream's) noticed first."""
        if not key:
            return None, None
        row = await self._pool.fetchrow(
            "SELECT kind, data, created_at, last_seen_at FROM web_sessions WHERE key_sha256 = $1", digest(key)
        )
        if row is None:
            return None, None
        if row["kind"].startswith(ENDED_PREFIX):
            return None, Ended(row["kind"].removeprefix(ENDED_PREFIX)) if kind is Kind.STAFF else None
        if row["kind"] != kind.value:
            return None, None
        timeouts = self.timeouts if kind is Kind.STAFF else Timeouts(*(timedelta(seconds=PENDING_SECONDS),) * 2)
        ended = expiry(row["created_at"], row["last_seen_at"], now, timeouts)
        if ended is not None:
            await self._pool.execute(
                "UPDATE web_sessions SET kind = $2, data = '{}', last_seen_at = $3 WHERE key_sha256 = $1",
                digest(key), f"{ENDED_PREFIX}{ended}", now,
            )  # fmt: skip
            return None, ended
        if (data := open_data(key, row["data"])) is None:
            return None, None
        if not touch:
            return Session(key, kind, data, row["created_at"], row["last_seen_at"]), None
        await self._pool.execute("UPDATE web_sessions SET last_seen_at = $2 WHERE key_sha256 = $1", digest(key), now)
        return Session(key, kind, data, row["created_at"], now), None

    async def save(self, session: Session) -> None:
        await self._pool.execute(
            "UPDATE web_sessions SET data = $2 WHERE key_sha256 = $1",
            digest(session.key),
            seal_data(session.key, session.data),
        )

    async def end(self, key: str) -> None:
        await self._pool.execute("DELETE FROM web_sessions WHERE key_sha256 = $1", digest(key))

    async def sweep(self, now: datetime) -> int:
        """Forget what has ended (they would be refused anyway); returns how many."""
        result = await self._pool.execute(
            "DELETE FROM web_sessions WHERE (kind = 'pending' AND last_seen_at < $1)"
            " OR (kind = 'staff' AND (last_seen_at < $2 OR created_at < $3))"
            " OR (kind LIKE 'ended:%' AND last_seen_at < $4)",
            now - timedelta(seconds=PENDING_SECONDS), now - self.timeouts.idle, now - self.timeouts.absolute,
            now - ENDED_KEPT,
        )  # fmt: skip
        return int(result.split()[-1])

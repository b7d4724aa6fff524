"""The gateway's outbox: an event answered with 202 is a committed row; the relay publishes it."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent
from services.gateway.errors import EventIdConflict
from services.runtime.pseudonym import Pseudonymizer

TABLE = "outbox"


@dataclass(frozen=True)
class Accepted:
    id: str
    accepted_at: datetime


async def accept(db: asyncpg.Pool | asyncpg.Connection, event: CloudEvent, kafka_key: str) -> Accepted:
    """Store the event once. The same id with the same body answers the same; another body is a conflict.

    `db` is the pool, or a connection whose transaction the event should be part of."""
    body = event.to_json().decode()
    body_sha256 = hashlib.sha256(body.encode()).hexdigest()
    row = await db.fetchrow(
        """INSERT INTO outbox (event_id, body_sha256, event, kafka_key) VALUES ($1, $2, $3, $4)
           ON CONFLICT (event_id) DO NOTHING RETURNING accepted_at""",
        event.id,
        body_sha256,
        body,
        kafka_key,
    )
    if row is None:
        row = await db.fetchrow("SELECT body_sha256, accepted_at FROM outbox WHERE event_id = $1", event.id)
        if row["body_sha256"] != body_sha256:
            raise EventIdConflict(event.id)
    return Accepted(event.id, row["accepted_at"])


class PgOutbox:
    """The outbox of the principal's own events: stored keyed by the subject's pseudonym, and the
    relay woken (`notify`) to publish them."""

    def __init__(self, pool: asyncpg.Pool, pseudonyms: Pseudonymizer, notify: Callable[[], None]) -> None:
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._notify = notify

    async def accept(self, event: CloudEvent) -> Accepted:
        accepted = await accept(self._pool, event, self._pseudonyms.of(event.subject))
        self._notify()
        return accepted

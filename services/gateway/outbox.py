"""The gateway's outbox: an event answered with 202 is a committed row; the relay publishes it.

Rows are written a group at a time: `store_rows` inserts many events in one statement (one
transaction, one commit), and `PgOutbox` gathers the single events of concurrent requests into
such groups (group commit): while one group's INSERT is in flight the next requests wait for it
and then go together, so that the commits — PostgreSQL's cost per transaction — and the relay's
wake-ups are per group, not per event. Alone, a request waits for no one.
"""

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent
from services.gateway.errors import EventIdConflict
from services.runtime.pseudonym import Pseudonymizer

log = logging.getLogger(__name__)

TABLE = "outbox"
MAX_GROUP = 500  # events per INSERT; a batch request is at most this many too


@dataclass(frozen=True)
class Accepted:
    id: str
    accepted_at: datetime


@dataclass(frozen=True)
class Row:
    """An event as the outbox stores it."""

    event_id: str
    body: str
    body_sha256: str
    kafka_key: str

    @classmethod
    def of(cls, event: CloudEvent, kafka_key: str) -> "Row":
        body = event.to_json().decode()
        return cls(event.id, body, hashlib.sha256(body.encode()).hexdigest(), kafka_key)


Answer = Accepted | EventIdConflict


def first_of_each(rows: Sequence[Row]) -> list[Row]:
    """The rows to insert: the first of each event id, in the order given."""
    seen: set[str] = set()
    firsts = []
    for row in rows:
        if row.event_id not in seen:
            seen.add(row.event_id)
            firsts.append(row)
    return firsts


def answers(rows: Sequence[Row], stored: dict[str, tuple[str, datetime]]) -> list[Answer]:
    """Each row's answer, given what the outbox holds for its id afterwards (body digest, accepted
    at): the same body is accepted (again, the same answer), another body is a conflict."""
    return [
        Accepted(row.event_id, stored[row.event_id][1])
        if stored[row.event_id][0] == row.body_sha256
        else EventIdConflict(row.event_id)
        for row in rows
    ]


_INSERT = """
    INSERT INTO outbox (event_id, body_sha256, event, kafka_key)
    SELECT event_id, body_sha256, event, kafka_key
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY
           AS incoming(event_id, body_sha256, event, kafka_key, n)
     ORDER BY n
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, body_sha256, accepted_at"""


async def store_rows(db: asyncpg.Pool | asyncpg.Connection, rows: Sequence[Row]) -> list[Answer]:
    """Store each event once, in the order given, all in one statement (one commit unless `db` is
    a connection in a transaction). The same id with the same body answers the same; another
    body is a conflict."""
    if not rows:
        return []
    new = first_of_each(rows)
    inserted = await db.fetch(
        _INSERT,
        [r.event_id for r in new],
        [r.body_sha256 for r in new],
        [r.body for r in new],
        [r.kafka_key for r in new],
    )
    stored = {r["event_id"]: (r["body_sha256"], r["accepted_at"]) for r in inserted}
    earlier = [r.event_id for r in new if r.event_id not in stored]
    if earlier:  # accepted before, by this request's predecessors (a fresh statement sees them)
        rows_before = await db.fetch(
            "SELECT event_id, body_sha256, accepted_at FROM outbox WHERE event_id = ANY($1::text[])", earlier
        )
        stored |= {r["event_id"]: (r["body_sha256"], r["accepted_at"]) for r in rows_before}
    return answers(rows, stored)


async def accept(db: asyncpg.Pool | asyncpg.Connection, event: CloudEvent, kafka_key: str) -> Accepted:
    """Store one event (EventIdConflict for the same id with another body). `db` is the pool, or a
    connection whose transaction the event should be part of."""
    [answer] = await store_rows(db, [Row.of(event, kafka_key)])
    if isinstance(answer, EventIdConflict):
        raise answer
    return answer


class PgOutbox:
    """The outbox of the principal's own events: stored keyed by the subject's pseudonym, a group
    at a time, and the relay woken (`notify`) once per group."""

    def __init__(self, pool: asyncpg.Pool, pseudonyms: Pseudonymizer, notify: Callable[[], None]) -> None:
        self._pool = pool
        self._pseudonyms = pseudonyms
        self._notify = notify
        self._waiting: list[tuple[Row, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None

    def _row(self, event: CloudEvent) -> Row:
        return Row.of(event, self._pseudonyms.of(event.subject))

    async def accept(self, event: CloudEvent) -> Accepted:
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((self._row(event), answer))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_groups())
        result = await answer
        if isinstance(result, EventIdConflict):
            raise result
        return result

    async def accept_many(self, events: Sequence[CloudEvent]) -> list[Answer]:
        """Every event in one statement (one commit), in order; an answer per event."""
        result = await store_rows(self._pool, [self._row(e) for e in events])
        if result:
            self._notify()
        return result

    async def _write_groups(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                await self._write(group)
        finally:
            self._writer = None

    async def _write(self, group: list[tuple[Row, asyncio.Future]]) -> None:
        try:
            results = await store_rows(self._pool, [row for row, _ in group])
        except asyncpg.PostgresError as exc:
            if len(group) == 1 or isinstance(exc, asyncpg.PostgresConnectionError):
                _fail(group, exc)
                return
            # a row the database refuses must not take its group with it: each on its own
            log.warning("an outbox group was refused; storing its events one by one", extra={"error": repr(exc)})
            for one in group:
                await self._write([one])
            return
        except BaseException as exc:  # the pool closed, the database away: every waiter learns it
            _fail(group, exc)
            if not isinstance(exc, Exception):
                raise
            return
        self._notify()
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)


def _fail(group: list[tuple[Row, asyncio.Future]], exc: BaseException) -> None:
    for _, future in group:
        if not future.done():
            future.set_exception(exc if isinstance(exc, Exception) else ConnectionError("outbox writer stopped"))

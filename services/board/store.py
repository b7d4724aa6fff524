"""The board's PostgreSQL store: the shell around `projection`.

A batch of changes is one transaction: lock the persons it touches (so that a revocation and a
late event of the same person, read from two topics at once, are applied one after the other),
load what the projection needs of them, `apply_all`, and write the difference. Reads are the
projection's reads in SQL, so that what a principal may not see never leaves the database.

Every batch moves the version of the persons it changed (`person_versions`, in its transaction),
and the board's listing (`persons_visible_to`) reads again only the events of persons whose version
moved since it last read them for that principal: a board of thousands of persons costs one query
of their consents and versions, not all their events, while nothing changes. The version is read
before the events, so what is kept under a version is never older than it.
"""

import json
from collections.abc import Iterable, Sequence

import asyncpg

from contracts.catalogue import ConsentChange
from services.board.alerts import ConsentFacts
from services.board.domain import BoardEvent
from services.board.projection import (
    BoardState,
    Change,
    Consent,
    ConsentChanged,
    Crossed,
    Forwarded,
    Person,
    Revocation,
    Writes,
    apply_all,
)
from services.board.statistics import ConsentSpan
from services.runtime.db import database_ready

# The projection's order (projection.event_order): time, then sender and event id, compared as
# Python compares strings (byte order, whatever the database's locale).
_EVENT_ORDER = 'ORDER BY event_time, sender COLLATE "C", event_id COLLATE "C"'


class PostgresBoardStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        # principal -> pseudonym -> (version, the events the principal may see): the last listing's
        self._listed: dict[str | None, dict[str, tuple[int, list[BoardEvent]]]] = {}

    async def record_forwarded(self, items: Sequence[Forwarded]) -> set[str]:
        """Idempotent: a redelivered event changes nothing. Answers the principals who see a new event."""
        return await self._apply(items)

    async def apply_consent_changes(self, changes: Sequence[ConsentChanged]) -> set[str]:
        """Answers the principals whose view may have changed (`projection`)."""
        return await self._apply(changes)

    async def _apply(self, changes: Sequence[Change]) -> set[str]:
        async with self._pool.acquire() as conn, conn.transaction():
            persons = sorted({_pseudonym(c) for c in changes})
            # in order (executemany sends them one after the other), so that two batches never wait on each other
            await conn.executemany(
                "SELECT pg_advisory_xact_lock(hashtext('samordna-board'), hashtext($1))", [(p,) for p in persons]
            )
            before = await _load(conn, persons, changes)
            outcome = apply_all(before, changes)
            if writes := Writes.between(before, outcome.state):
                await _write(conn, writes)
                await conn.execute(
                    """INSERT INTO person_versions SELECT p, nextval('person_version_seq') FROM unnest($1::text[]) p
                       ON CONFLICT (person_pseudonym) DO UPDATE SET version = EXCLUDED.version""",
                    persons,
                )
        return set(outcome.moved)

    async def persons_visible_to(self, principal: str | None) -> list[Person]:
        """Every person on `principal`'s board with the events `principal` may see, in order
        (every person and event, for None: aggregates only)."""
        consents = await self._pool.fetch(
            """SELECT consent_id, person_pseudonym, valid_until, version FROM consents
               LEFT JOIN person_versions USING (person_pseudonym)
               WHERE valid_until > now() AND ($1::text IS NULL OR $1 = ANY(parties))
               ORDER BY person_pseudonym COLLATE "C", consent_id""",
            principal,
        )
        by_person: dict[str, Person] = {}
        for row in consents:
            pseudonym = row["person_pseudonym"]
            person = by_person.setdefault(pseudonym, Person(pseudonym, [], [], row["version"]))
            person.consents.append(ConsentFacts(str(row["consent_id"]), row["valid_until"]))
        listed = self._listed.get(principal, {})
        unread = [p for p, person in by_person.items() if not person.version or _version(listed, p) != person.version]
        read: dict[str, list[BoardEvent]] = {p: [] for p in unread}
        for crossed in await self._events(unread, principal):
            read[crossed.pseudonym].append(crossed.event)
        for pseudonym, person in by_person.items():
            person.events = read[pseudonym] if pseudonym in read else listed[pseudonym][1]
        self._listed[principal] = {
            p: (person.version, person.events) for p, person in by_person.items() if person.version is not None
        }
        return [person for person in by_person.values() if person.events]

    async def consent_spans(self, principal: str | None) -> list[ConsentSpan]:
        """The consents behind the statistics."""
        rows = await self._pool.fetch(
            """SELECT person_pseudonym, person_id, valid_from, valid_until FROM consents
               WHERE $1::text IS NULL OR $1 = ANY(parties) ORDER BY person_pseudonym COLLATE "C", consent_id""",
            principal,
        )
        return [ConsentSpan(r["person_pseudonym"], r["person_id"], r["valid_from"], r["valid_until"]) for r in rows]

    async def events_of(self, pseudonyms: Sequence[str], principal: str | None) -> list[BoardEvent]:
        """The persons' events that `principal` may see (all, for None), in time order."""
        return [c.event for c in await self._events(list(pseudonyms), principal)]

    async def forget_everything(self) -> None:
        """For a rebuild from the topics."""
        await self._pool.execute("TRUNCATE events, consents, revoked_consents, person_versions")

    async def ready(self) -> bool:
        return await database_ready(self._pool)

    async def _events(self, pseudonyms: list[str], principal: str | None) -> list[Crossed]:
        # `visibility.may_see` in SQL; views apply the rule again, and trim the parties, in Python.
        rows = await self._pool.fetch(
            f"""SELECT * FROM events WHERE person_pseudonym = ANY($1::text[])
                 AND ($2::text IS NULL OR sender = $2 OR $2 = ANY(parties)) {_EVENT_ORDER}""",
            pseudonyms,
            principal,
        )
        return [_crossed(row) for row in rows]


def _version(listed: dict[str, tuple[int, list]], pseudonym: str) -> int | None:
    kept = listed.get(pseudonym)
    return kept[0] if kept else None


def _pseudonym(change: Change) -> str:
    return change.crossed.pseudonym if isinstance(change, Forwarded) else change.pseudonym


async def _load(conn: asyncpg.Connection, persons: list[str], changes: Sequence[Change]) -> BoardState:
    """What the changes touch: the persons' revocations, the revocations and consents they name,
    the events they bring that are kept already, and the persons' events if one is a revocation."""
    forwarded = [c for c in changes if isinstance(c, Forwarded)]
    consent_changes = [c for c in changes if isinstance(c, ConsentChanged)]
    consent_ids = {c.consent_id for c in consent_changes} | {i for c in forwarded for i in c.consent_ids}
    revocations = await conn.fetch(
        """SELECT * FROM revoked_consents WHERE person_pseudonym = ANY($1::text[])
           OR consent_id = ANY($2::uuid[])""",
        persons,
        list(consent_ids),
    )
    consents = await conn.fetch(
        "SELECT * FROM consents WHERE consent_id = ANY($1::uuid[])", [c.consent_id for c in consent_changes]
    )
    keys = [c.crossed.key for c in forwarded]
    ending = (ConsentChange.REVOKED, ConsentChange.EXPIRED)
    revoking = sorted({c.pseudonym for c in consent_changes if c.kind in ending})
    # two index scans, not one OR (which read the whole table: every batch slower as it grew); an
    # event both brought and of a person being revoked comes twice, and is one in the dict below
    events = await conn.fetch(
        f"""SELECT * FROM (
                SELECT * FROM events WHERE (sender, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))
                UNION ALL
                SELECT * FROM events WHERE person_pseudonym = ANY($3::text[])) AS touched {_EVENT_ORDER}""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        revoking,
    )
    return BoardState(
        events={(c := _crossed(row)).key: c for row in events},
        consents={str(row["consent_id"]): _consent(row) for row in consents},
        revocations={
            str(r["consent_id"]): Revocation(str(r["consent_id"]), r["person_pseudonym"], r["revoked_at"])
            for r in revocations
        },
    )


async def _write(conn: asyncpg.Connection, writes: Writes) -> None:
    # executemany: one round trip for the rows of a batch, not one per row (a rebuild writes thousands)
    if writes.revocations_added:
        await conn.executemany(
            "INSERT INTO revoked_consents VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            [(r.consent_id, r.pseudonym, r.revoked_at) for r in writes.revocations_added],
        )
    await _delete(conn, "DELETE FROM consents WHERE consent_id = ANY($1::uuid[])", writes.consents_dropped)
    if writes.consents_added:
        await conn.executemany(
            """INSERT INTO consents (consent_id, person_pseudonym, person_id, parties, valid_from, valid_until)
               VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING""",
            [(c.consent_id, c.pseudonym, c.person_id, list(c.parties), c.valid_from, c.valid_until)
             for c in writes.consents_added],
        )  # fmt: skip
    if writes.events_forgotten:
        await conn.execute(
            "DELETE FROM events WHERE (sender, event_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            [k[0] for k in writes.events_forgotten],
            [k[1] for k in writes.events_forgotten],
        )
    if writes.events_added:
        await conn.executemany(
            """INSERT INTO events (sender, event_id, person_pseudonym, person_id, event_type, event_time,
                                 parties, data, decided_at, consent_ids)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING""",
            [_event_row(crossed) for crossed in writes.events_added],
        )


def _event_row(crossed: Crossed) -> tuple:
    event = crossed.event
    return (
        event.sender,
        event.event_id,
        crossed.pseudonym,
        event.person_id,
        event.type,
        event.time,
        list(event.parties),
        json.dumps(event.data),
        crossed.decided_at,
        sorted(crossed.consent_ids) if crossed.consent_ids is not None else None,
    )


async def _delete(conn: asyncpg.Connection, sql: str, keys: Iterable[str]) -> None:
    if keys := list(keys):
        await conn.execute(sql, keys)


def _crossed(row: asyncpg.Record) -> Crossed:
    event = BoardEvent(
        type=row["event_type"],
        sender=row["sender"],
        person_id=row["person_id"],
        time=row["event_time"],
        data=json.loads(row["data"]),
        event_id=row["event_id"],
        parties=tuple(row["parties"]),
    )
    held = row["consent_ids"]
    return Crossed(row["person_pseudonym"], event, row["decided_at"], frozenset(held) if held is not None else None)


def _consent(row: asyncpg.Record) -> Consent:
    return Consent(
        str(row["consent_id"]),
        row["person_pseudonym"],
        row["person_id"],
        tuple(row["parties"]),
        row["valid_from"],
        row["valid_until"],
    )

"""The board's PostgreSQL store: forwarded events and consents in; a principal's persons out.

A person is on a principal's board while a consent the board knows of names the principal and
has not ended, and only with the events that principal may see (`visibility.py`): those it
sent or the gate forwarded to it. Writes answer which principals' views they changed, so that
only their live pages move.
"""

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent, ForwardedEvent
from contracts.catalogue import ConsentChange
from services.board.alerts import ConsentFacts
from services.board.domain import BoardEvent
from services.runtime.pseudonym import Pseudonymizer

CONSENT_GRANTED = ConsentChange.GRANTED.event_type
CONSENT_EXPIRING = ConsentChange.EXPIRING.event_type
CONSENT_EXPIRED = ConsentChange.EXPIRED.event_type
CONSENT_REVOKED = ConsentChange.REVOKED.event_type


@dataclass
class Person:
    pseudonym: str
    events: list[BoardEvent]  # only those the principal asked for may see (all, for the whole area)
    consents: list[ConsentFacts]  # only those naming the principal


async def record_forwarded(
    conn: asyncpg.Connection, pseudonyms: Pseudonymizer, items: list[ForwardedEvent]
) -> set[str]:
    """Idempotent: a redelivered event changes nothing. Answers the principals who see a new event."""
    moved: set[str] = set()
    async with conn.transaction():
        revoked = await _revoked_among(conn, {c for item in items for c in item.consent_ids})
        for item in items:
            event = item.event
            pseudonym = pseudonyms.of(event.subject)
            if item.consent_ids and set(item.consent_ids) <= revoked:
                continue  # crossed only on consents since revoked
            if await _forgotten(conn, pseudonym, item.decided_at):
                continue  # crossed before a revocation the board has already applied: forgotten with it
            inserted = await conn.fetchval(
                """INSERT INTO events (sender, event_id, person_pseudonym, person_id, event_type, event_time,
                                     parties, data, decided_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING 1""",
                event.principal,
                event.id,
                pseudonym,
                event.subject,
                event.type,
                event.time,
                sorted(item.parties),
                json.dumps(event.data),
                item.decided_at,
            )
            if inserted:
                moved |= {event.principal, *item.parties}
    return moved


async def apply_consent_changes(
    conn: asyncpg.Connection, pseudonyms: Pseudonymizer, changes: list[CloudEvent]
) -> set[str]:
    """Granted and expiring consents are kept; expired ones dropped; a revocation forgets the person.

    Answers the principals whose view may have changed: the consent's parties, and on a
    revocation everyone who saw an event the board forgot."""
    moved: set[str] = set()
    async with conn.transaction():
        for change in changes:
            pseudonym = pseudonyms.of(change.subject)
            data = change.data
            moved |= set(data["parties"])
            if change.type in (CONSENT_GRANTED, CONSENT_EXPIRING):
                if await conn.fetchval("SELECT 1 FROM revoked_consents WHERE consent_id = $1", data["consent_id"]):
                    continue  # an old event of a consent since revoked, read again
                await conn.execute(
                    """INSERT INTO consents (consent_id, person_pseudonym, person_id, parties, valid_from, valid_until)
                       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (consent_id) DO NOTHING""",
                    data["consent_id"],
                    pseudonym,
                    change.subject,
                    sorted(data["parties"]),
                    datetime.fromisoformat(data["valid_from"]),
                    datetime.fromisoformat(data["valid_until"]),
                )
            elif change.type == CONSENT_EXPIRED:
                await conn.execute("DELETE FROM consents WHERE consent_id = $1", data["consent_id"])
            elif change.type == CONSENT_REVOKED:
                moved |= await _forget(conn, pseudonym, data["consent_id"], change.time)
    return moved


async def _forget(conn: asyncpg.Connection, pseudonym: str, consent_id: str, revoked_at: datetime) -> set[str]:
    """The person leaves the joint model: the board drops every row, event and trace of them."""
    await conn.execute(
        "INSERT INTO revoked_consents VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", consent_id, pseudonym, revoked_at
    )
    await conn.execute("DELETE FROM consents WHERE consent_id = $1", consent_id)
    rows = await conn.fetch(
        """DELETE FROM events WHERE person_pseudonym = $1 AND (decided_at IS NULL OR decided_at <= $2)
           RETURNING parties""",
        pseudonym,
        revoked_at,
    )
    return {p for row in rows for p in row["parties"]}


async def _forgotten(conn: asyncpg.Connection, pseudonym: str, decided_at: datetime) -> bool:
    """Would a revocation already applied have forgotten an event decided then? The same answer
    whichever of the two topics the board read first — what lets a rebuild arrive at the same board."""
    return bool(
        await conn.fetchval(
            "SELECT 1 FROM revoked_consents WHERE person_pseudonym = $1 AND revoked_at >= $2 LIMIT 1",
            pseudonym,
            decided_at,
        )
    )


async def persons_visible_to(conn: asyncpg.Connection, principal: str | None) -> list[Person]:
    """Every person on `principal`'s board with the events `principal` may see, in order
    (every person and event, for None: aggregates only)."""
    consents = await conn.fetch(
        """SELECT consent_id, person_pseudonym, valid_until FROM consents
           WHERE valid_until > now() AND ($1::text IS NULL OR $1 = ANY(parties))""",
        principal,
    )
    by_person: dict[str, Person] = {}
    for row in consents:
        person = by_person.setdefault(row["person_pseudonym"], Person(row["person_pseudonym"], [], []))
        person.consents.append(ConsentFacts(str(row["consent_id"]), row["valid_until"]))
    for event in await _events(conn, list(by_person), principal):
        by_person[event.person_pseudonym].events.append(event.board_event)
    return [person for person in by_person.values() if person.events]


async def consents_overlapping(conn: asyncpg.Connection, principal: str | None) -> list[asyncpg.Record]:
    """The consents behind the statistics: person, valid_from, valid_until."""
    return await conn.fetch(
        """SELECT person_pseudonym, person_id, valid_from, valid_until FROM consents
           WHERE $1::text IS NULL OR $1 = ANY(parties)""",
        principal,
    )


async def events_of(conn: asyncpg.Connection, pseudonyms: list[str], principal: str | None) -> list[BoardEvent]:
    """The persons' events that `principal` may see (all, for None), in time order."""
    return [e.board_event for e in await _events(conn, pseudonyms, principal)]


@dataclass(frozen=True)
class _Stored:
    person_pseudonym: str
    board_event: BoardEvent


async def _events(conn: asyncpg.Connection, pseudonyms: list[str], principal: str | None) -> list[_Stored]:
    # The filter is `visibility.may_see` in SQL, so that what a principal may not see never
    # leaves the database; views apply the rule again, and trim the parties, in Python.
    rows = await conn.fetch(
        """SELECT * FROM events WHERE person_pseudonym = ANY($1::text[])
             AND ($2::text IS NULL OR sender = $2 OR $2 = ANY(parties))
           ORDER BY event_time, received_at, sender, event_id""",
        pseudonyms,
        principal,
    )
    return [_Stored(row["person_pseudonym"], _event(row)) for row in rows]


def _event(row: asyncpg.Record) -> BoardEvent:
    return BoardEvent(
        type=row["event_type"],
        sender=row["sender"],
        person_id=row["person_id"],
        time=row["event_time"],
        data=json.loads(row["data"]),
        event_id=row["event_id"],
        parties=tuple(row["parties"]),
    )


async def _revoked_among(conn: asyncpg.Connection, consent_ids: set[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT consent_id FROM revoked_consents WHERE consent_id = ANY($1::uuid[])", list(consent_ids)
    )
    return {str(row["consent_id"]) for row in rows}

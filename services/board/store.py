"""The board's PostgreSQL store: forwarded events and consents in; a principal's persons out.

A person is on a principal's board while a consent the board knows of names the principal and
has not ended; what is shown is folded from the events that crossed the gate about them.
"""

import json
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from contracts import CloudEvent, ForwardedEvent
from services.board.alerts import ConsentFacts
from services.board.domain import BoardEvent
from services.runtime.pseudonym import Pseudonymizer

CONSENT_GRANTED = "se.samordna.consent.granted.v1"
CONSENT_EXPIRING = "se.samordna.consent.expiring.v1"
CONSENT_EXPIRED = "se.samordna.consent.expired.v1"
CONSENT_REVOKED = "se.samordna.consent.revoked.v1"


@dataclass
class Person:
    pseudonym: str
    events: list[BoardEvent]
    consents: list[ConsentFacts]


async def record_forwarded(conn: asyncpg.Connection, pseudonyms: Pseudonymizer, items: list[ForwardedEvent]) -> None:
    """Idempotent: a redelivered event changes nothing."""
    async with conn.transaction():
        revoked = await _revoked_among(conn, {c for item in items for c in item.consent_ids})
        for item in items:
            if item.consent_ids and set(item.consent_ids) <= revoked:
                continue  # crossed just before a revocation the board has already applied
            event = item.event
            pseudonym = pseudonyms.of(event.subject)
            await conn.execute(
                """INSERT INTO events (sender, event_id, person_pseudonym, person_id, event_type, event_time,
                                     parties, data, decided_at)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING""",
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


async def apply_consent_changes(conn: asyncpg.Connection, pseudonyms: Pseudonymizer, changes: list[CloudEvent]) -> None:
    """Granted and expiring consents are kept; expired ones dropped; a revocation forgets the person."""
    async with conn.transaction():
        for change in changes:
            pseudonym = pseudonyms.of(change.subject)
            data = change.data
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
                await _forget(conn, pseudonym, data["consent_id"], change.time)


async def _forget(conn: asyncpg.Connection, pseudonym: str, consent_id: str, revoked_at: datetime) -> None:
    """The person leaves the joint model: the board drops every row, event and trace of them."""
    await conn.execute(
        "INSERT INTO revoked_consents VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", consent_id, pseudonym, revoked_at
    )
    await conn.execute("DELETE FROM consents WHERE consent_id = $1", consent_id)
    await conn.execute(
        "DELETE FROM events WHERE person_pseudonym = $1 AND (decided_at IS NULL OR decided_at <= $2)",
        pseudonym,
        revoked_at,
    )


async def persons_visible_to(conn: asyncpg.Connection, principal: str | None) -> list[Person]:
    """Every person on `principal`'s board (every person, for None: aggregates only), with events in order."""
    consents = await conn.fetch(
        """SELECT consent_id, person_pseudonym, valid_until FROM consents
           WHERE valid_until > now() AND ($1::text IS NULL OR $1 = ANY(parties))""",
        principal,
    )
    by_person: dict[str, Person] = {}
    for row in consents:
        person = by_person.setdefault(row["person_pseudonym"], Person(row["person_pseudonym"], [], []))
        person.consents.append(ConsentFacts(str(row["consent_id"]), row["valid_until"]))
    rows = await conn.fetch(
        """SELECT * FROM events WHERE person_pseudonym = ANY($1::text[])
           ORDER BY person_pseudonym, event_time, received_at""",
        list(by_person),
    )
    for row in rows:
        by_person[row["person_pseudonym"]].events.append(_event(row))
    return [person for person in by_person.values() if person.events]


async def consents_overlapping(conn: asyncpg.Connection, principal: str | None) -> list[asyncpg.Record]:
    """The consents behind the statistics: person, valid_from, valid_until."""
    return await conn.fetch(
        """SELECT person_pseudonym, person_id, valid_from, valid_until FROM consents
           WHERE $1::text IS NULL OR $1 = ANY(parties)""",
        principal,
    )


async def events_of(conn: asyncpg.Connection, pseudonyms: list[str]) -> list[BoardEvent]:
    rows = await conn.fetch(
        "SELECT * FROM events WHERE person_pseudonym = ANY($1::text[]) ORDER BY event_time, received_at", pseudonyms
    )
    return [_event(row) for row in rows]


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

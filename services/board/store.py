"""The board's PostgreSQL store: forwarded events in, a person's events out."""

import json

import asyncpg

from contracts import CloudEvent, ForwardedEvent
from services.board.domain import BoardEvent
from services.runtime.pseudonym import Pseudonymizer


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
                                     parties, data)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
                event.principal,
                event.id,
                pseudonym,
                event.subject,
                event.type,
                event.time,
                sorted(item.parties),
                json.dumps(event.data),
            )
            await conn.execute(
                """INSERT INTO persons (person_pseudonym, person_id, visible_to) VALUES ($1, $2, $3)
                   ON CONFLICT (person_pseudonym) DO UPDATE SET
                     visible_to = ARRAY(SELECT DISTINCT unnest(persons.visible_to || EXCLUDED.visible_to) ORDER BY 1),
                     updated_at = now()""",
                pseudonym,
                event.subject,
                sorted(item.parties),
            )


async def events_visible_to(conn: asyncpg.Connection, principal: str) -> dict[str, list[BoardEvent]]:
    """Every event of every person the principal may see, by person, in event-time order."""
    rows = await conn.fetch(
        """SELECT e.* FROM events e JOIN persons p USING (person_pseudonym)
           WHERE $1 = ANY(p.visible_to) ORDER BY e.person_pseudonym, e.event_time, e.received_at""",
        principal,
    )
    by_person: dict[str, list[BoardEvent]] = {}
    for row in rows:
        by_person.setdefault(row["person_pseudonym"], []).append(
            BoardEvent(
                type=row["event_type"],
                sender=row["sender"],
                person_id=row["person_id"],
                time=row["event_time"],
                data=json.loads(row["data"]),
            )
        )
    return by_person


async def _revoked_among(conn: asyncpg.Connection, consent_ids: set[str]) -> set[str]:
    rows = await conn.fetch(
        "SELECT consent_id FROM revoked_consents WHERE consent_id = ANY($1::uuid[])", list(consent_ids)
    )
    return {str(row["consent_id"]) for row in rows}


async def forget(conn: asyncpg.Connection, pseudonyms: Pseudonymizer, revocations: list[CloudEvent]) -> None:
    """The person leaves the joint model: the board drops every row, event and trace of them."""
    async with conn.transaction():
        for revocation in revocations:
            pseudonym = pseudonyms.of(revocation.subject)
            await conn.execute(
                "INSERT INTO revoked_consents VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                revocation.data["consent_id"],
                pseudonym,
                revocation.time,
            )
            await conn.execute("DELETE FROM events WHERE person_pseudonym = $1", pseudonym)
            await conn.execute("DELETE FROM persons WHERE person_pseudonym = $1", pseudonym)

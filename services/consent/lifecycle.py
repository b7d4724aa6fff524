"""Consent lifecycle events — granted, revoked, expiring (30 days before, once), expired.

Each is appended to `consent_events` in the same transaction as the change it reports, so
none is lost between the commit and Kafka; the relay publishes them to `consent.changes`.
Event ids are derived from the consent and the kind, so a consumer that de-duplicates by id
sees each once, however often the relay or the scanner runs.
"""

import asyncio
import logging
from datetime import datetime, timedelta

import asyncpg

from contracts import CloudEvent, parse_event
from contracts.catalogue import ConsentChange
from services.consent import repository
from services.runtime.outbox import Relay

log = logging.getLogger(__name__)

TABLE = "consent_events"
EXPIRY_NOTICE = timedelta(days=30)


def lifecycle_event(kind: str, consent: asyncpg.Record, principal: str, at: datetime) -> CloudEvent:
    return parse_event(
        {
            "specversion": "1.0",
            "id": f"consent-{consent['id']}-{kind}",
            "source": "/samordna/consent",
            "type": ConsentChange(kind).event_type,
            "subject": consent["person_id"],
            "time": at.isoformat(),
            "principal": principal,
            "category": "consent",
            "data": {
                "consent_id": str(consent["id"]),
                "parties": list(consent["parties"]),
                "valid_from": consent["valid_from"].isoformat(),
                "valid_until": consent["valid_until"].isoformat(),
            },
        }
    )


async def append(conn: asyncpg.Connection, kind: str, consent: asyncpg.Record, principal: str, at: datetime) -> bool:
    """Record the change in the consent's history and outbox, inside the caller's transaction."""
    event = lifecycle_event(kind, consent, principal, at)
    return await repository.append_consent_event(
        conn,
        {
            "event_id": event.id,
            "consent_id": consent["id"],
            "kind": kind,
            "event": event.to_json().decode(),
            "kafka_key": consent["person_pseudonym"],
            "occurred_at": at,
        },
    )


async def note_expiries(pool: asyncpg.Pool) -> int:
    """Append `expiring` for consents ending within 30 days and `expired` for those that ended."""
    appended = 0
    async with pool.acquire() as conn, conn.transaction():
        now = await repository.database_now(conn)
        for kind, horizon in (("expiring", now + EXPIRY_NOTICE), ("expired", now)):
            for consent in await repository.consents_due(conn, kind, horizon):
                appended += await append(conn, kind, consent, consent["recorded_by_principal"], now)
    return appended


async def watch_expiries(pool: asyncpg.Pool, relay: Relay, interval: float) -> None:
    while True:
        try:
            if await note_expiries(pool):
                relay.notify()
        except Exception as exc:  # the database away, or a pool connection broken by its restart
            log.warning("expiry scan failed; will retry", extra={"error": repr(exc)})
        await asyncio.sleep(interval)

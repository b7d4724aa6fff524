"""Consent lifecycle events — granted, revoked, expiring (30 days before, once), expired.

Each is appended to `consent_events` in the same transaction as the change it reports, so
none is lost between the commit and Kafka; the relay publishes them to `consent.changes`.
Event ids are derived from the consent and the kind, so a consumer that de-duplicates by id
sees each once, however often the relay or the scanner runs.

What goes to Kafka is the event sealed (`contracts/sealing.py`): the consent's id, parties and
validity and the person's pseudonym in the open, the personnummer of a grant (and of its
`expiring` notice, which the board reads as one) under the consent's key, which revoking or
expiry schedules for erasure (`services/consent/erasure.py`). A revocation or an expiry carries
no personnummer at all: the board acts on it without any key.
"""

import asyncio
import logging
from datetime import datetime, timedelta

import asyncpg

from contracts import CloudEvent, parse_event
from contracts.catalogue import ConsentChange
from contracts.sealing import SealedEvent, new_key, seal_event
from services.consent import erasure, repository
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


_NAMES_THE_PERSON = ("granted", "expiring")


async def sealed_change(conn: asyncpg.Connection, event: CloudEvent, kind: str, consent: asyncpg.Record) -> SealedEvent:
    """The record consent.changes carries for `event`."""
    pseudonym = consent["person_pseudonym"]
    if kind not in _NAMES_THE_PERSON:
        return SealedEvent(**_attributes(event), data={**event.data, "person_pseudonym": pseudonym})
    kid, key = await repository.consent_key(conn, consent["id"], pseudonym, new_key)
    return seal_event(event.model_dump(), pseudonym, event.data, {"subject": event.subject}, {kid: key})


def _attributes(event: CloudEvent) -> dict:
    return {k: getattr(event, k) for k in ("id", "source", "type", "principal", "category")} | {
        "time": event.time.isoformat()
    }


async def append(
    conn: asyncpg.Connection,
    kind: str,
    consent: asyncpg.Record,
    principal: str,
    at: datetime,
    erasure_delay: float = erasure.DEFAULT_DELAY_SECONDS,
) -> bool:
    """Record the change in the consent's history and outbox, inside the caller's transaction;
    a revocation or an expiry schedules the erasure of the consent's key `erasure_delay` seconds on."""
    event = lifecycle_event(kind, consent, principal, at)
    if kind in ("revoked", "expired"):
        await repository.schedule_consent_erasure(conn, consent["id"], erasure_delay)
    record = await sealed_change(conn, event, kind, consent)
    return await repository.append_consent_event(
        conn,
        {
            "event_id": event.id,
            "consent_id": consent["id"],
            "kind": kind,
            "event": record.to_json().decode(),
            "kafka_key": consent["person_pseudonym"],
            "occurred_at": at,
        },
    )


async def note_expiries(pool: asyncpg.Pool, erasure_delay: float = erasure.DEFAULT_DELAY_SECONDS) -> int:
    """Append `expiring` for consents ending within 30 days and `expired` for those that ended."""
    appended = 0
    async with pool.acquire() as conn, conn.transaction():
        now = await repository.database_now(conn)
        for kind, horizon in (("expiring", now + EXPIRY_NOTICE), ("expired", now)):
            for consent in await repository.consents_due(conn, kind, horizon):
                appended += await append(conn, kind, consent, consent["recorded_by_principal"], now, erasure_delay)
    return appended


async def watch_expiries(
    pool: asyncpg.Pool, relay: Relay, interval: float, erasure_delay: float = erasure.DEFAULT_DELAY_SECONDS
) -> None:
    """Notes expiries, and erases the keys whose time has come (`erasure.sweep`)."""
    while True:
        try:
            if await note_expiries(pool, erasure_delay):
                relay.notify()
            scheduled, deleted = await erasure.sweep(pool, erasure_delay)
            if scheduled or deleted:
                log.info("erasure keys", extra={"scheduled": scheduled, "erased": deleted})
        except Exception as exc:  # the database away, or a pool connection broken by its restart
            log.warning("expiry scan failed; will retry", extra={"error": repr(exc)})
        await asyncio.sleep(interval)

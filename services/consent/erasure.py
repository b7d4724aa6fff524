"""Crypto-shredding: the keys that hold the board's sealed copies, and their erasure.

The gate seals each event's copy on `shared.events` (`Keys.seal`) under a new data key wrapped
by the key of every consent that let it cross, and of every statutory basis it crossed on for
that person (`contracts/sealing.py`); the consent-changes relay publishes a consent's grant with
the personnummer sealed under the consent's key. Revoking a consent or recording its expiry
schedules its key's deletion `delay` seconds later (in the same transaction); a statutory
basis's key of a person is scheduled once no consent of the person is in force. `sweep` deletes
what is due. A record whose every key is gone is unreadable in every copy of the log, backups
of the broker's disks included; one that another consent still holds stays readable.
"""

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts import ForwardedEvent
from contracts.sealing import new_key, seal_event_json
from services.consent import repository
from services.consent.plan import Decided

DEFAULT_DELAY_SECONDS = 3600.0


@dataclass(frozen=True)
class Keys:
    """The keys one gate batch seals with."""

    consents: Mapping[str, tuple[str, bytes]]  # consent id -> (kid, key)
    statutory: Mapping[tuple[str, str], tuple[str, bytes]]  # (pseudonym, legal reference) -> (kid, key)

    @functools.cached_property
    def _aeads(self) -> dict[str, AESGCM]:
        """Each key made ready for AES-GCM once per batch, not once per record (kept no longer than
        the batch: an erased key must not live on in the process)."""
        return {kid: AESGCM(key) for kid, key in [*self.consents.values(), *self.statutory.values()]}

    def seal(self, shared: ForwardedEvent, pseudonym: str, legal_references: frozenset[str]) -> bytes:
        """The board's copy of a forwarded event, sealed (plan.Seal)."""
        kids = [self.consents[c][0] for c in shared.consent_ids] + [
            self.statutory[(pseudonym, ref)][0] for ref in sorted(legal_references)
        ]
        event = shared.event
        clear = {
            "parties": shared.parties,
            "consent_ids": shared.consent_ids,
            "decided_at": _isoformat(shared.decided_at),
        }
        secret = {"subject": event.subject, "data": event.data}
        envelope = {"id": event.id, "source": event.source, "type": event.type, "time": event.time,
                    "principal": event.principal, "category": event.category}  # fmt: skip
        return seal_event_json(envelope, pseudonym, clear, secret, {kid: self._aeads[kid] for kid in kids})


@functools.lru_cache(maxsize=8)
def _isoformat(moment) -> str:
    """A batch's one moment of decision, written once per batch rather than once per copy."""
    return moment.isoformat()


async def keys_for(conn: asyncpg.Connection, decided: Decided) -> Keys:
    """The keys of a decided batch, inside the gate's transaction (which holds the consents)."""
    consent_ids, statutory = decided.sealing_keys
    pseudonym_of = {str(c): a.pseudonym for i, (a, _) in enumerate(decided.decisions) for c in decided.holders_of(i)}
    consents = await repository.consent_keys(
        conn, [(uuid.UUID(c), pseudonym_of[c]) for c in sorted(consent_ids)], new_key
    )
    statutory_keys = await repository.statutory_keys(conn, sorted(statutory), _statutory_kid, new_key)
    return Keys(consents, statutory_keys)


def _statutory_kid() -> str:
    return f"statutory-{uuid.uuid4()}"


async def sweep(pool: asyncpg.Pool, delay_seconds: float) -> tuple[int, int]:
    """Schedule the statutory keys no consent keeps, delete the keys that are due: (scheduled, deleted)."""
    async with pool.acquire() as conn, conn.transaction():
        return await repository.erase_due_keys(conn, delay_seconds)

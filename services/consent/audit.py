"""The audit writer: every decision on gate.decisions becomes a row, once."""

import asyncpg
from faststream.kafka import KafkaBroker

from contracts import DecisionBatch
from contracts.topics import GATE_DECISIONS
from services.consent import repository
from services.runtime.auth import Caller
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.pseudonym import Pseudonymizer

GROUP_ID = "samordna-audit"


def subscribe_audit_writer(broker: KafkaBroker, pool: asyncpg.Pool) -> None:
    async def write(batches: list[DecisionBatch]) -> None:
        async with pool.acquire() as conn:
            await repository.record_decisions(conn, [d for batch in batches for d in batch.decisions])

    batch_consumer(broker, GATE_DECISIONS, GROUP_ID, from_value(DecisionBatch.model_validate_json), write)


class AuditTrail:
    """Reads the audit: what was decided about a person, as far as the caller's principal may know.

    Only coordinators reach it (the API's role check); ops and systems see no person's audit. A
    person with no consent and a person with no decisions visible to the caller give the same
    empty answer, so the answer discloses nothing about what others exchanged.
    """

    def __init__(self, pool: asyncpg.Pool, pseudonyms: Pseudonymizer) -> None:
        self._pool = pool
        self._pseudonyms = pseudonyms

    async def of_person(self, caller: Caller, person: str) -> list[asyncpg.Record]:
        async with self._pool.acquire() as conn:
            return await repository.audit_visible_to(conn, self._pseudonyms.of(person), caller.principal)

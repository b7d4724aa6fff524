"""What the board reads: shared.events (what crossed the gate) and consent.changes, turned into
the projection's changes and handed to the store; the principals whose view moved are told to
the live pages. The running board (`bootstrap.py`) and the rebuild (`rebuild.py`) feed the store
the same way.

Both topics carry sealed records (`contracts/sealing.py`): the board opens them with the keys
the consent service holds (`ports.KeyRing`). A record whose keys are all erased is skipped: what
it held belonged to consents that have ended, and the board keeps nothing of it.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from faststream.kafka import KafkaBroker

from contracts import CloudEvent, ForwardedEvent
from contracts.catalogue import ConsentChange
from contracts.sealing import SealedEvent, kids_of, open_sealed
from contracts.topics import CONSENT_CHANGES, SHARED_EVENTS
from services.board.domain import BoardEvent
from services.board.ports import BoardStore, KeyRing
from services.board.projection import ConsentChanged, Crossed, Forwarded
from services.runtime.consuming import batch_consumer, from_value
from services.runtime.pseudonym import Pseudonymizer

GROUP_ID = "samordna-board"
GROUPS = {SHARED_EVENTS: GROUP_ID, CONSENT_CHANGES: f"{GROUP_ID}-consents"}
_KINDS = {kind.event_type: kind for kind in ConsentChange}


def forwarded(item: ForwardedEvent, pseudonyms: Pseudonymizer) -> Forwarded:
    e = item.event
    event = BoardEvent(e.type, e.principal, e.subject, e.time, e.data, e.id, tuple(sorted(item.parties)))
    return Forwarded(Crossed(pseudonyms.of(e.subject), event, item.decided_at), frozenset(map(_uuid, item.consent_ids)))


def unsealed(record: SealedEvent, secret: dict) -> ForwardedEvent:
    """A shared.events record opened: the event as it crossed, and between whom."""
    clear = record.clear
    attributes = record.model_dump(exclude={"data", "datacontenttype"})
    event = CloudEvent.model_validate({**attributes, "subject": secret["subject"], "data": secret["data"]})
    return ForwardedEvent(
        event=event, parties=clear["parties"], consent_ids=clear["consent_ids"], decided_at=clear["decided_at"]
    )


def consent_changed(change: SealedEvent, person_id: str | None) -> ConsentChanged | None:
    """A consent.changes record as the projection's change; None for a grant whose key is erased
    (the consent has ended: the board keeps nothing of it). `person_id`: the opened personnummer."""
    data, kind = change.data, _KINDS.get(change.type)
    validity = kind in (ConsentChange.GRANTED, ConsentChange.EXPIRING)
    if validity and person_id is None:
        return None
    return ConsentChanged(
        kind=kind,
        consent_id=_uuid(data["consent_id"]),
        pseudonym=change.pseudonym,
        person_id=person_id or "",
        parties=tuple(data["parties"]),
        at=datetime.fromisoformat(change.time),
        valid_from=datetime.fromisoformat(data["valid_from"]) if validity else None,
        valid_until=datetime.fromisoformat(data["valid_until"]) if validity else None,
    )


def _uuid(value: str) -> str:
    """As PostgreSQL spells a uuid; a ValueError (a data error: dead-lettered) if it is none."""
    return str(uuid.UUID(value))


def _nobody(principals: Iterable[str]) -> None:
    pass


@dataclass(frozen=True)
class Feed:
    """The store fed from the two topics; `moved` hears whose view changed (the live pages)."""

    store: BoardStore
    pseudonyms: Pseudonymizer
    keys: KeyRing
    moved: Callable[[Iterable[str]], None] = _nobody

    async def events(self, records: list[SealedEvent]) -> None:
        opened = await self._open(records)
        items = [unsealed(r, secret) for r, secret in opened if secret is not None]
        if items:
            self.moved(await self.store.record_forwarded([forwarded(i, self.pseudonyms) for i in items]))

    async def consents(self, records: list[SealedEvent]) -> None:
        opened = await self._open(records)
        changes = [consent_changed(r, (secret or {}).get("subject")) for r, secret in opened]
        if changes := [c for c in changes if c is not None]:
            self.moved(await self.store.apply_consent_changes(changes))

    async def _open(self, records: list[SealedEvent]) -> list[tuple[SealedEvent, dict | None]]:
        keks = await self.keys.keys({kid for r in records for kid in kids_of(r)})
        return [(r, open_sealed(r, keks)) for r in records]


def sealed_record(value: bytes) -> SealedEvent:
    return SealedEvent.model_validate_json(value)


def subscribe(broker: KafkaBroker, feed: Feed) -> None:
    batch_consumer(broker, SHARED_EVENTS, GROUPS[SHARED_EVENTS], from_value(sealed_record), feed.events)
    batch_consumer(broker, CONSENT_CHANGES, GROUPS[CONSENT_CHANGES], from_value(sealed_record), feed.consents)

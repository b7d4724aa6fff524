"""What the board reads: shared.events (what crossed the gate) and consent.changes, turned into
the projection's changes and handed to the store; the principals whose view moved are told to
the live pages. The running board (`bootstrap.py`) and the rebuild (`rebuild.py`) feed the store
the same way.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from faststream.kafka import KafkaBroker

from contracts import CloudEvent, ForwardedEvent, parse_event
from contracts.catalogue import ConsentChange
from contracts.topics import CONSENT_CHANGES, SHARED_EVENTS
from services.board.domain import BoardEvent
from services.board.ports import BoardStore
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


def consent_changed(change: CloudEvent, pseudonyms: Pseudonymizer) -> ConsentChanged:
    data, kind = change.data, _KINDS.get(change.type)
    validity = kind in (ConsentChange.GRANTED, ConsentChange.EXPIRING)
    return ConsentChanged(
        kind=kind,
        consent_id=_uuid(data["consent_id"]),
        pseudonym=pseudonyms.of(change.subject),
        person_id=change.subject,
        parties=tuple(data["parties"]),
        at=change.time,
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
    moved: Callable[[Iterable[str]], None] = _nobody

    async def events(self, items: list[ForwardedEvent]) -> None:
        self.moved(await self.store.record_forwarded([forwarded(i, self.pseudonyms) for i in items]))

    async def consents(self, changes: list[CloudEvent]) -> None:
        self.moved(await self.store.apply_consent_changes([consent_changed(c, self.pseudonyms) for c in changes]))


def subscribe(broker: KafkaBroker, feed: Feed) -> None:
    batch_consumer(
        broker, SHARED_EVENTS, GROUPS[SHARED_EVENTS], from_value(ForwardedEvent.model_validate_json), feed.events
    )
    batch_consumer(broker, CONSENT_CHANGES, GROUPS[CONSENT_CHANGES], from_value(parse_event), feed.consents)

"""Inkorg och kvittens, as pure functions: what the principal received, in the order a coordinator
works through it, and what it sent that asks for a receipt, with each recipient's receipt.

Received: the principal's gateway inbox (`GET /v1/inbox/latest`, already overdue first, then newest),
read into `Received` lines. Sent: receipts travel back as events — a recipient's gateway sends
`receipt.acknowledged` when it acknowledges, and `receipt.overdue` when the deadline passes
unacknowledged (services/gateway/receipts/), addressed through the gate to the sender alone. The
board holds them with the events they answer (shared.events, with `parties`: the sender and every
recipient the gate forwarded to), so `sent` folds them from the principal's visible events: each
event it sent that needs action, each recipient it reached, and that recipient's receipt.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from contracts import spec_for
from contracts.catalogue import CATALOGUE
from contracts.principals import display_name
from services.board.domain import BoardEvent, format_person_id

RECEIPT_PREFIX = "se.samordna.receipt."


class State(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ACKNOWLEDGED_LATE = "acknowledged_late"
    OVERDUE = "overdue"
    AWAITED = "awaited"
    NOT_ASKED = "not_asked"


STATES = {
    State.ACKNOWLEDGED: "Kvitterad",
    State.ACKNOWLEDGED_LATE: "Kvitterad efter tidsfristen",
    State.OVERDUE: "Ej kvitterat i tid",
    State.AWAITED: "Väntar på kvittens",
    State.NOT_ASKED: "Ingen kvittens krävs",
}


@dataclass(frozen=True)
class Received:
    event_id: str
    sender: str
    what: str
    patient: str
    handle: str  # the person's pseudonym: what the access log and the receipt form name
    occurred_at: datetime
    received_at: datetime
    due_at: datetime | None
    acknowledged_at: datetime | None
    state: State

    @property
    def may_acknowledge(self) -> bool:
        return self.due_at is not None and self.acknowledged_at is None


@dataclass(frozen=True)
class RecipientReceipt:
    recipient: str
    state: State
    acknowledged_at: datetime | None
    deadline: datetime | None  # known once the recipient's gateway reported it overdue


@dataclass(frozen=True)
class Sent:
    event_id: str
    what: str
    patient: str
    handle: str
    sent_at: datetime
    recipients: tuple[RecipientReceipt, ...]

    @property
    def overdue(self) -> bool:
        return any(r.state is State.OVERDUE for r in self.recipients)


def state_of(due_at: datetime | None, acknowledged_at: datetime | None, now: datetime) -> State:
    if due_at is None:
        return State.NOT_ASKED
    if acknowledged_at is not None:
        return State.ACKNOWLEDGED if acknowledged_at <= due_at else State.ACKNOWLEDGED_LATE
    return State.OVERDUE if due_at <= now else State.AWAITED


def received(entries: list[dict], pseudonym_of, now: datetime) -> list[Received]:
    """The gateway's inbox entries (`/v1/inbox/latest`), in its order; receipts left out."""
    lines = []
    for entry in entries:
        event = entry["event"]
        if event["type"].startswith(RECEIPT_PREFIX):
            continue
        due, acked = _at(entry.get("receipt_due_at")), _at(entry.get("acknowledged_at"))
        lines.append(
            Received(
                event["id"],
                event["principal"],
                _label(event["type"]),
                format_person_id(event["subject"]),
                pseudonym_of(event["subject"]),
                _at(event["time"]),
                _at(entry["received_at"]),
                due,
                acked,
                state_of(due, acked, now),
            )  # fmt: skip
        )
    return lines


def sent(principal: str, persons: list[tuple[str, list[BoardEvent]]]) -> list[Sent]:
    """What `principal` sent that asks for a receipt, with every recipient's, from the events it
    may see of each person (handle, events); any overdue first, then newest first."""
    found = []
    for handle, events in persons:
        acks = {(e.sender, e.data.get("event_id")): e for e in events if e.name == "receipt.acknowledged"}
        late = {(e.sender, e.data.get("event_id")): e for e in events if e.name == "receipt.overdue"}
        for e in events:
            if e.sender != principal or not _asks_receipt(e.type):
                continue
            recipients = tuple(
                _receipt(r, acks.get((r, e.event_id)), late.get((r, e.event_id)))
                for r in sorted(set(e.parties) - {principal})
            )
            found.append(Sent(e.event_id, e.label, format_person_id(e.person_id), handle, e.time, recipients))
    return sorted(found, key=lambda s: (not s.overdue, -s.sent_at.timestamp(), s.event_id))


def _receipt(recipient: str, ack: BoardEvent | None, overdue: BoardEvent | None) -> RecipientReceipt:
    deadline = _at(overdue.data.get("deadline")) if overdue else None
    if ack is not None:
        at = _at(ack.data.get("acknowledged_at")) or ack.time
        state = State.ACKNOWLEDGED_LATE if overdue is not None or (deadline and at > deadline) else State.ACKNOWLEDGED
        return RecipientReceipt(recipient, state, at, deadline)
    return RecipientReceipt(recipient, State.OVERDUE if overdue else State.AWAITED, None, deadline)


def _asks_receipt(event_type: str) -> bool:
    spec = CATALOGUE.get(event_type)
    return spec is not None and spec.needs_action


def _label(event_type: str) -> str:
    return spec_for(event_type).label_sv if event_type in CATALOGUE else "Händelse"


def _at(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def who(principal: str) -> str:
    return display_name(principal)

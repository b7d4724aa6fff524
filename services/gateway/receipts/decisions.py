"""The receipts' decisions, over plain values: no database, no clock, no event loop.

The deadline of an event is its type's in the deadlines the gateway runs with (the catalogue's
`EventSpec.receipt_deadline`, overridden by SAMORDNA_RECEIPT_DEADLINES: contracts/receipts.py),
counted from when the event reached this gateway.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import CloudEvent, parse_event
from contracts.catalogue import Category
from contracts.receipts import ACKNOWLEDGED, OVERDUE

SOURCE = "/samordna/gateway"
_IDS = uuid.UUID("5b0e8f3a-3c51-4f7e-9d0a-7d2b6c1f4e21")  # namespace of receipt event ids


@dataclass(frozen=True)
class Delivery:
    """An inbox item as the receipts see it."""

    seq: int
    sender: str
    event_id: str
    event_type: str
    subject: str
    received_at: datetime
    receipt_due_at: datetime | None
    acknowledged_at: datetime | None = None
    overdue_reported_at: datetime | None = None


@dataclass(frozen=True)
class OverdueReport:
    """A receipt.overdue event to send for the inbox item `seq`."""

    seq: int
    event: CloudEvent


def receipt_due_at(event_type: str, received_at: datetime, deadlines: Mapping[str, timedelta]) -> datetime | None:
    """When the recipient's receipt is due, or None for an event that needs no action."""
    deadline = deadlines.get(event_type)
    return None if deadline is None else received_at + deadline


def is_overdue(item: Delivery, now: datetime) -> bool:
    """Past its deadline, not acknowledged, and not reported before: reported once, never after a receipt."""
    return (
        item.receipt_due_at is not None
        and item.receipt_due_at <= now
        and item.acknowledged_at is None
        and item.overdue_reported_at is None
    )


def overdue_reports(items: Iterable[Delivery], principal: str, now: datetime) -> list[OverdueReport]:
    """The receipt.overdue events `principal` owes for `items` at `now`, earliest deadline first."""
    due = sorted((item for item in items if is_overdue(item, now)), key=lambda item: (item.receipt_due_at, item.seq))
    return [OverdueReport(item.seq, overdue_event(item, principal, now)) for item in due]


def overdue_event(item: Delivery, principal: str, now: datetime) -> CloudEvent:
    data = {
        "addressee": item.sender,
        "event_id": item.event_id,
        "event_type": item.event_type,
        "received_at": item.received_at.isoformat(),
        "deadline": item.receipt_due_at.isoformat(),
    }
    return _event(receipt_id("overdue", item.sender, item.event_id), OVERDUE, principal, item.subject, now, data)


def acknowledgement_event(item: Delivery, principal: str, now: datetime, unit: str | None) -> CloudEvent:
    data = {"addressee": item.sender, "event_id": item.event_id, "event_type": item.event_type}
    data |= {"acknowledged_at": now.isoformat()} | ({"unit": unit} if unit else {})
    return _event(receipt_id("receipt", item.sender, item.event_id), ACKNOWLEDGED, principal, item.subject, now, data)


def receipt_id(kind: str, sender: str, event_id: str) -> str:
    """The same event always gets the same receipt id, so a receipt is one event however often it is made."""
    return f"{kind}-{uuid.uuid5(_IDS, f'{sender}/{event_id}')}"


def _event(event_id: str, event_type: str, principal: str, subject: str, now: datetime, data: dict) -> CloudEvent:
    return parse_event(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": SOURCE,
            "type": event_type,
            "subject": subject,
            "time": now.isoformat(),
            "principal": principal,
            "category": Category.COORDINATION.value,
            "data": data,
        }
    )

"""An event as the principal's own system posts it, read into the contract or refused."""

from contracts import MAX_EVENT_BYTES, CloudEvent, parse_event
from contracts import InvalidEvent as Unparsable
from services.gateway.errors import EventTooLarge, InvalidEvent


def read_event(raw: bytes, sender: str) -> CloudEvent:
    """The posted body as `sender`'s event; EventTooLarge or InvalidEvent (naming the fields) if not."""
    if len(raw) > MAX_EVENT_BYTES:
        raise EventTooLarge(len(raw), MAX_EVENT_BYTES)
    try:
        return parse_event(raw, sender=sender)
    except Unparsable as exc:
        raise InvalidEvent(exc.errors) from None

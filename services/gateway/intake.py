"""An event as the principal's own system posts it, read into the contract or refused."""

import json

from contracts import MAX_EVENT_BYTES, CloudEvent, parse_event
from contracts import InvalidEvent as Unparsable
from services.gateway.errors import EventTooLarge, InvalidEvent

WORKSPACE_SOURCE = "samordna-arbetsyta"  # the board's workspace (staff registering by hand)


def read_event(raw: bytes, sender: str, source: str | None = None) -> CloudEvent:
    """The posted body as `sender`'s event; EventTooLarge or InvalidEvent (naming the fields) if not.

    `source`, if given, is what the event's `source` becomes whatever the body says: a member of
    staff's event names the workspace and the user (`workspace_source`), not what a page claims."""
    if len(raw) > MAX_EVENT_BYTES:
        raise EventTooLarge(len(raw), MAX_EVENT_BYTES)
    body: bytes | dict = raw
    if source is not None:
        try:
            decoded = json.loads(raw)
        except ValueError:
            decoded = None  # parse_event names what is wrong with it
        if isinstance(decoded, dict):
            body = {**decoded, "source": source}
    try:
        return parse_event(body, sender=sender)
    except Unparsable as exc:
        raise InvalidEvent(exc.errors) from None


def workspace_source(user: str | None) -> str:
    """The `source` of an event a member of staff registered in the workspace: `samordna-arbetsyta/<user>`."""
    return f"{WORKSPACE_SOURCE}/{user}" if user else WORKSPACE_SOURCE

"""Who sees which event on the board: the rule of invariant 1, behind the gate. Pure.

A principal sees an event only if it sent it or the gate forwarded it to that principal
(`parties` = [sender, *recipients the gate forwarded to], from `shared.events`). What it sees
of the event's parties is what it knows anyway: the sender sees every recipient (the gate's
audit tells it the same); a recipient sees the sender and itself, never who else received
the event — that would tell it of the person's consents with others.

A person is on a principal's board while a consent in force names the principal and at least
one event about the person is visible to it. A consent alone makes no row: the board is built
from what crossed, and a row with nothing in it would tell nothing the consent registry does
not; above all a row never depends on events the principal cannot see (that was the leak: a
consent-only row that appeared once others exchanged events about the person).

`None` stands for the whole area (ops' aggregates): every event, with its parties.
"""

from dataclasses import replace

from services.board.domain import BoardEvent


def may_see(principal: str | None, event: BoardEvent) -> bool:
    return principal is None or principal == event.sender or principal in event.parties


def as_seen_by(principal: str | None, event: BoardEvent) -> BoardEvent:
    """The event with only the parties `principal` may know of."""
    if principal is None or principal == event.sender:
        return event
    return replace(event, parties=(event.sender, principal))


def visible_events(principal: str | None, events: list[BoardEvent]) -> list[BoardEvent]:
    """The events `principal` may see, in their order, each with the parties it may know of."""
    return [as_seen_by(principal, e) for e in events if may_see(principal, e)]


def row_parties(principal: str, events: list[BoardEvent]) -> list[str]:
    """The principals a row is shared with, as `principal` may know them: from its visible events."""
    return sorted({p for e in visible_events(principal, events) for p in e.parties} | {principal})


def principals_who_see(events: list[BoardEvent]) -> set[str]:
    """Every principal whose view changes when these events come or go: their live pages move."""
    return {p for e in events for p in (e.sender, *e.parties)}

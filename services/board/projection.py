"""The board's projection, pure: what crossed the gate and the consents' changes folded into what
the board keeps, and who may see what of it. No I/O; the store (`store.py`) loads the part of
the state a batch touches, calls `apply_all`, and writes `Writes.between(before, after)`.

The rules, one change at a time (`apply`):

- a forwarded event is kept once (a redelivery changes nothing), with the consents that hold
  it (every consent that allowed it to cross to someone) — unless every one of them has since
  ended; an event that crossed on a statutory basis alone is held by no consent, and is not
  kept if an end of one of the person's consents at or after the moment the gate decided it has
  already been applied: it would have been forgotten with it. Both checks give the same answer
  whichever of the two topics the board reads first, which is what lets a rebuild arrive at the
  same board;
- a granted or expiring consent is kept (the first copy wins), unless it has ended: an old
  change read again;
- a revocation or an expiry ends a consent: the end is remembered (the first wins), the consent
  dropped, and every event of the person that nothing holds any more is forgotten — those only
  ended consents held, and those decided at or before the end that no consent holds (statutory
  ones, and rows kept before the board recorded their consents). What another consent of the
  person still holds stays (issue 19): a person who revokes one of two consents keeps what the
  other allows; one whose last consent ends leaves the joint model, and the board keeps nothing.

Each change answers the principals whose view may have changed, so that only their live pages
move: a kept event's sender and parties; a consent change's parties, always (an expiring
consent stores nothing new but brings an alert), and on a revocation everyone who saw a
forgotten event.

Reads (`persons_visible_to`, `consent_spans`, `events_of`) are the rule of `visibility.py`: a
person is on a principal's board while a consent naming it has not ended, with the events the
principal sent or was forwarded. The SQL store answers the same in SQL; these serve the
in-memory store and the properties.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from contracts.catalogue import ConsentChange
from services.board.alerts import ConsentFacts
from services.board.domain import BoardEvent
from services.board.statistics import ConsentSpan
from services.board.visibility import may_see

EventKey = tuple[str, str]  # (sender, event id): an event is kept once


@dataclass(frozen=True)
class Crossed:
    """An event that crossed the gate, as the board keeps it (parties: sender and recipients)."""

    pseudonym: str
    event: BoardEvent
    decided_at: datetime | None  # None only on rows kept before the board recorded it
    consent_ids: frozenset[str] | None = None  # the consents that hold it; None: kept before the board recorded them

    @property
    def key(self) -> EventKey:
        return (self.event.sender, self.event.event_id)


@dataclass(frozen=True)
class Consent:
    consent_id: str
    pseudonym: str
    person_id: str
    parties: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class Revocation:
    consent_id: str
    pseudonym: str
    revoked_at: datetime


@dataclass(frozen=True)
class Forwarded:
    """A change from shared.events: `crossed`, on the consents `consent_ids`."""

    crossed: Crossed
    consent_ids: frozenset[str]


@dataclass(frozen=True)
class ConsentChanged:
    """A change from consent.changes. `kind` None: a type the board does not act on."""

    kind: ConsentChange | None
    consent_id: str
    pseudonym: str
    person_id: str
    parties: tuple[str, ...]
    at: datetime  # the change's time: for a revocation, when it was revoked
    valid_from: datetime | None = None  # on granted and expiring
    valid_until: datetime | None = None


Change = Forwarded | ConsentChanged


@dataclass(frozen=True)
class BoardState:
    """What the board keeps (or the part of it a batch touches), by key. Never mutated."""

    events: Mapping[EventKey, Crossed] = field(default_factory=dict)
    consents: Mapping[str, Consent] = field(default_factory=dict)
    revocations: Mapping[str, Revocation] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    state: BoardState
    moved: frozenset[str] = frozenset()  # the principals whose view may have changed


@dataclass(frozen=True)
class Writes:
    """What to store and delete to go from one state to the next. Keys never change their value
    (the first copy wins), so a diff by key says it all."""

    events_added: tuple[Crossed, ...] = ()
    events_forgotten: tuple[EventKey, ...] = ()
    consents_added: tuple[Consent, ...] = ()
    consents_dropped: tuple[str, ...] = ()
    revocations_added: tuple[Revocation, ...] = ()

    @classmethod
    def between(cls, before: BoardState, after: BoardState) -> "Writes":
        return cls(
            events_added=tuple(e for k, e in after.events.items() if k not in before.events),
            events_forgotten=tuple(k for k in before.events if k not in after.events),
            consents_added=tuple(c for k, c in after.consents.items() if k not in before.consents),
            consents_dropped=tuple(k for k in before.consents if k not in after.consents),
            revocations_added=tuple(r for k, r in after.revocations.items() if k not in before.revocations),
        )

    def __bool__(self) -> bool:
        return any((self.events_added, self.events_forgotten, self.consents_added, self.consents_dropped,
                    self.revocations_added))  # fmt: skip


def apply(state: BoardState, change: Change) -> Outcome:
    if isinstance(change, Forwarded):
        return _forwarded(state, change)
    return _consent_changed(state, change)


def apply_all(state: BoardState, changes: Iterable[Change]) -> Outcome:
    """The changes in their order; the principals any of them moved."""
    moved: set[str] = set()
    for change in changes:
        outcome = apply(state, change)
        state, moved = outcome.state, moved | outcome.moved
    return Outcome(state, frozenset(moved))


def _forwarded(state: BoardState, change: Forwarded) -> Outcome:
    crossed = replace(change.crossed, consent_ids=frozenset(change.consent_ids))
    if change.consent_ids and change.consent_ids <= state.revocations.keys():
        return Outcome(state)  # held only by consents since ended
    if not change.consent_ids and forgotten(state, crossed.pseudonym, crossed.decided_at):
        return Outcome(state)  # held by no consent, decided before an end already applied: forgotten with it
    if crossed.key in state.events:
        return Outcome(state)
    event = crossed.event
    return Outcome(
        replace(state, events={**state.events, crossed.key: crossed}), frozenset({event.sender, *event.parties})
    )


def forgotten(state: BoardState, pseudonym: str, decided_at: datetime | None) -> bool:
    """Would an end of a consent of the person already applied have forgotten an event decided
    then that no consent holds?"""
    return decided_at is not None and any(
        r.pseudonym == pseudonym and r.revoked_at >= decided_at for r in state.revocations.values()
    )


def _consent_changed(state: BoardState, change: ConsentChanged) -> Outcome:
    moved = frozenset(change.parties)
    if change.kind in (ConsentChange.GRANTED, ConsentChange.EXPIRING):
        if change.consent_id in state.revocations or change.consent_id in state.consents:
            return Outcome(state, moved)  # an old change of a consent since ended, or one kept already
        return Outcome(replace(state, consents={**state.consents, change.consent_id: _consent(change)}), moved)
    if change.kind in (ConsentChange.REVOKED, ConsentChange.EXPIRED):
        return _ended(state, change, moved)
    return Outcome(state, moved)


def _ended(state: BoardState, change: ConsentChanged, moved: frozenset[str]) -> Outcome:
    """A revocation or an expiry (`revocations` keeps both: the consents that have ended)."""
    ended = {change.consent_id: Revocation(change.consent_id, change.pseudonym, change.at), **state.revocations}
    gone = {
        k: e for k, e in state.events.items() if e.pseudonym == change.pseudonym and _unheld(e, ended.keys(), change.at)
    }
    return Outcome(
        BoardState(
            events=_without(state.events, gone.keys()),
            consents=_without(state.consents, {change.consent_id}),
            revocations=ended,  # the first end of a consent wins
        ),
        moved | {p for e in gone.values() for p in e.event.parties},
    )


def _unheld(crossed: Crossed, ended: Iterable[str], at: datetime) -> bool:
    if crossed.consent_ids:
        return crossed.consent_ids <= set(ended)
    return crossed.decided_at is None or crossed.decided_at <= at


def _consent(change: ConsentChanged) -> Consent:
    if change.valid_from is None or change.valid_until is None:
        raise ValueError("a granted or expiring consent names its validity")
    parties = tuple(sorted(change.parties))
    return Consent(
        change.consent_id, change.pseudonym, change.person_id, parties, change.valid_from, change.valid_until
    )


def _without(mapping: Mapping, keys: Iterable) -> dict:
    dropped = set(keys)
    return {k: v for k, v in mapping.items() if k not in dropped}


# --- reads -------------------------------------------------------------------------------------


@dataclass
class Person:
    pseudonym: str
    events: list[BoardEvent]  # only those the principal asked for may see (all, for the whole area)
    consents: list[ConsentFacts]  # only those naming the principal
    # the store's version of the person (schema.sql person_versions): the same version, the same
    # events; None where the store keeps none (in memory), and nothing is kept by it. Not part of
    # what the board holds: two stores that hold the same agree whatever their versions
    version: int | None = field(default=None, compare=False)


def _names(principal: str | None, consent: Consent) -> bool:
    return principal is None or principal in consent.parties


def event_order(event: BoardEvent) -> tuple:
    """The order of a person's events everywhere: time, then sender and event id (the SQL store's too)."""
    return (event.time, event.sender, event.event_id)


def _in_order(consents):
    """Consents by person, then id: the order the SQL store reads them in."""
    return sorted(consents, key=lambda c: (c.pseudonym, c.consent_id))


def persons_visible_to(state: BoardState, principal: str | None, now: datetime) -> list[Person]:
    """Every person on `principal`'s board with the events it may see, in order (None: everyone)."""
    by_person: dict[str, Person] = {}
    for consent in _in_order(state.consents.values()):
        if consent.valid_until > now and _names(principal, consent):
            person = by_person.setdefault(consent.pseudonym, Person(consent.pseudonym, [], []))
            person.consents.append(ConsentFacts(consent.consent_id, consent.valid_until))
    for pseudonym, person in by_person.items():
        person.events = events_of(state, [pseudonym], principal)
    return [person for person in by_person.values() if person.events]


def consent_spans(state: BoardState, principal: str | None) -> list[ConsentSpan]:
    return [
        ConsentSpan(c.pseudonym, c.person_id, c.valid_from, c.valid_until)
        for c in _in_order(state.consents.values())
        if _names(principal, c)
    ]


def events_of(state: BoardState, pseudonyms: Iterable[str], principal: str | None) -> list[BoardEvent]:
    """The persons' events `principal` may see, in time order (then by sender and event id)."""
    wanted = set(pseudonyms)
    found = [c.event for c in state.events.values() if c.pseudonym in wanted and may_see(principal, c.event)]
    return sorted(found, key=event_order)

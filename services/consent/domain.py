"""The consent rule, as data and one pure function.

`decide` answers, for one event and the person's consents, who may receive it and why.
It touches no broker, no database and no clock of its own.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from contracts.catalogue import Category


class EventFacts(Protocol):
    """What the rule looks at in an event (a CloudEvent has all of it; so does an audit row)."""

    principal: str
    type: str
    category: str
    time: datetime


class Form(StrEnum):
    WRITTEN = "written"
    VERBAL = "verbal"


class Reason(StrEnum):
    CONSENT = "consent"
    STATUTORY_BASIS = "statutory_basis"
    NO_CONSENT = "no_consent"
    CONSENT_REVOKED = "consent_revoked"
    CONSENT_NOT_ACTIVE = "consent_not_active"
    EVENT_OUTSIDE_VALIDITY = "event_outside_validity"
    CATEGORY_NOT_COVERED = "category_not_covered"
    EXCLUDED_BY_PERSON = "excluded_by_person"


class Basis(StrEnum):
    CONSENT = "consent"
    STATUTORY = "statutory"
    NONE = "none"


SHAREABLE_CATEGORIES = frozenset(c for c in Category if c is not Category.CONSENT)


@dataclass(frozen=True)
class Consent:
    id: UUID
    person_pseudonym: str
    parties: frozenset[str]
    categories: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    excluded_categories: frozenset[str] = frozenset()
    excluded_types: frozenset[str] = frozenset()
    revoked_at: datetime | None = None

    def names(self, *principals: str) -> bool:
        return all(p in self.parties for p in principals)

    def refusal(self, event: EventFacts, now: datetime) -> Reason | None:
        """Why this consent does not cover `event` at `now`, or None if it does."""
        if self.revoked_at is not None:
            return Reason.CONSENT_REVOKED
        if not self.valid_from <= now < self.valid_until:
            return Reason.CONSENT_NOT_ACTIVE
        if not self.valid_from <= event.time < self.valid_until:
            return Reason.EVENT_OUTSIDE_VALIDITY
        if event.category not in self.categories:
            return Reason.CATEGORY_NOT_COVERED
        if event.category in self.excluded_categories or event.type in self.excluded_types:
            return Reason.EXCLUDED_BY_PERSON
        return None


@dataclass(frozen=True)
class StatutoryBasis:
    """An event type that crosses without consent, to named recipients, by law."""

    event_type: str
    legal_reference: str
    recipients: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Decision:
    recipient: str | None
    forwarded: bool
    reason: Reason
    basis: Basis = Basis.NONE
    consent_id: UUID | None = None
    legal_reference: str | None = None


# When several consents name the same pair and none allows the event, the audit names the
# reason from the consent that came closest to allowing it.
_CLOSENESS = [
    Reason.EXCLUDED_BY_PERSON,
    Reason.CATEGORY_NOT_COVERED,
    Reason.EVENT_OUTSIDE_VALIDITY,
    Reason.CONSENT_NOT_ACTIVE,
    Reason.CONSENT_REVOKED,
]


def decide(
    event: EventFacts,
    consents: list[Consent],
    statutory: dict[str, StatutoryBasis],
    now: datetime,
) -> list[Decision]:
    """One decision per principal the event could go to; a single refusal if it could go nowhere."""
    sender = event.principal
    recipients = sorted({p for c in consents if c.names(sender) for p in c.parties} - {sender})
    basis = statutory.get(event.type)
    if basis is not None:
        recipients = sorted(set(recipients) | (basis.recipients - {sender}))
    # A receipt is addressed: it may go to the sender of the event it answers, and to no one else.
    addressee = getattr(event, "addressee", None)
    if addressee is not None:
        recipients = [addressee] if addressee != sender else []
    if not recipients:
        return [Decision(recipient=None, forwarded=False, reason=Reason.NO_CONSENT)]
    return [_decide_for(event, recipient, consents, basis, now) for recipient in recipients]


def _decide_for(
    event: EventFacts, recipient: str, consents: list[Consent], basis: StatutoryBasis | None, now: datetime
) -> Decision:
    refusals = []
    for consent in consents:
        if not consent.names(event.principal, recipient):
            continue
        refusal = consent.refusal(event, now)
        if refusal is None:
            return Decision(recipient, True, Reason.CONSENT, Basis.CONSENT, consent_id=consent.id)
        refusals.append((refusal, consent.id))
    if basis is not None and recipient in basis.recipients:
        return Decision(recipient, True, Reason.STATUTORY_BASIS, Basis.STATUTORY, legal_reference=basis.legal_reference)
    if not refusals:
        return Decision(recipient, False, Reason.NO_CONSENT)
    reason, consent_id = min(refusals, key=lambda r: _CLOSENESS.index(r[0]))
    return Decision(recipient, False, reason, consent_id=consent_id)

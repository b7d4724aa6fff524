"""The person's log extract (loggutdrag, HSLF-FS 2016:40 4 kap. 10 §), as one pure function:
`extract(...) -> LogExtract`, over what the consent service holds for the caller's principal (the
gate's decisions, the consents and their changes, its access log) and the board's access log.

The extract is the principal's: every event about the person that it sent and where each went or
why not, every event forwarded to it, every change of a consent naming it, and every look at the
person by its own staff and systems. Another principal's withheld events and looks are not in it
(knowing of them is itself a disclosure); whatever is handed in about another person, another
principal's withheld event or another principal's look is left out here too, whoever asked.
Everything is in the person's words (`log_extract_words.py`). Rendering: `log_extract_pages.py`.
"""

from dataclasses import dataclass
from datetime import datetime

from contracts.catalogue import CATALOGUE
from contracts.log_extract import AccessEntry
from contracts.principals import display_name
from services.board.log_extract_words import (
    CONSENT_CHANGES,
    FORMS,
    ROLES,
    SOURCES,
    action_in_words,
    categories_in_words,
    reason_in_words,
)

STATUTORY = "statutory"


@dataclass(frozen=True)
class Decision:
    """One gate decision, as the audit has it: an event of `sender` for `recipient`."""

    person: str  # pseudonym
    event_id: str
    event_type: str
    sender: str
    recipient: str | None
    forwarded: bool
    reason: str
    basis: str
    consent_id: str | None
    legal_reference: str | None
    event_time: datetime
    decided_at: datetime


@dataclass(frozen=True)
class ConsentChange:
    person: str  # pseudonym
    consent_id: str
    kind: str  # granted, revoked, expiring, expired
    occurred_at: datetime
    parties: tuple[str, ...]
    categories: tuple[str, ...]
    excluded_categories: tuple[str, ...]
    excluded_event_types: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    form: str


class Look(AccessEntry):
    """An access-log entry of `person` (a pseudonym): `source` is the log it came from (board, consent)."""

    person: str
    source: str


@dataclass(frozen=True)
class Crossed:
    at: datetime
    event_time: datetime
    event_id: str
    what: str
    sender: str
    recipient: str
    basis: str  # in words
    consent_id: str | None
    legal_reference: str | None


@dataclass(frozen=True)
class Withheld:
    at: datetime
    event_time: datetime
    event_id: str
    what: str
    sender: str
    recipient: str  # in words: a principal's name, or that there was none to send it to
    reason: str  # the reason's code
    why: str  # in words


@dataclass(frozen=True)
class ConsentLine:
    at: datetime
    consent_id: str
    what: str
    parties: str
    covers: str
    excludes: str
    valid_from: datetime
    valid_until: datetime
    form: str


@dataclass(frozen=True)
class AccessLine:
    at: datetime
    who: str
    hsa_id: str | None
    unit: str | None
    principal: str
    role: str
    what: str
    where: str


@dataclass(frozen=True)
class LogExtract:
    person_id: str  # the personnummer as the person knows it: the extract is theirs
    principal: str
    produced_at: datetime
    produced_by: str
    crossed: tuple[Crossed, ...]
    withheld: tuple[Withheld, ...]
    consent_changes: tuple[ConsentLine, ...]
    accesses: tuple[AccessLine, ...]


def extract(
    person_id: str,
    pseudonym: str,
    principal: str,
    decisions: list[Decision],
    changes: list[ConsentChange],
    looks: list[Look],
    produced_at: datetime,
    produced_by: str,
) -> LogExtract:
    """The extract of `principal` for the person (`pseudonym`), oldest first in each part."""
    mine = [d for d in decisions if d.person == pseudonym]
    crossed = [_crossed(d) for d in mine if d.forwarded and d.recipient and principal in (d.sender, d.recipient)]
    withheld = [_withheld(d) for d in mine if not d.forwarded and d.sender == principal]
    consent_lines = [_consent_line(c) for c in changes if c.person == pseudonym and principal in c.parties]
    accesses = [_access_line(a) for a in looks if a.person == pseudonym and a.principal == principal]
    return LogExtract(
        person_id=person_id,
        principal=principal,
        produced_at=produced_at,
        produced_by=produced_by,
        crossed=tuple(sorted(crossed, key=lambda c: (c.at, c.event_id, c.recipient))),
        withheld=tuple(sorted(withheld, key=lambda w: (w.at, w.event_id, w.recipient))),
        consent_changes=tuple(sorted(consent_lines, key=lambda c: (c.at, c.consent_id))),
        accesses=tuple(sorted(accesses, key=lambda a: a.at)),
    )


def event_in_words(event_type: str) -> str:
    spec = CATALOGUE.get(event_type)
    return spec.label_sv if spec else "Händelse"


def basis_in_words(d: Decision) -> str:
    if d.basis == STATUTORY:
        return f"Lagstöd: {d.legal_reference}" if d.legal_reference else "Lagstöd"
    return f"Ditt samtycke ({d.consent_id})" if d.consent_id else "Ditt samtycke"


def _crossed(d: Decision) -> Crossed:
    return Crossed(
        d.decided_at, d.event_time, d.event_id, event_in_words(d.event_type), display_name(d.sender),
        display_name(d.recipient), basis_in_words(d), d.consent_id, d.legal_reference,
    )  # fmt: skip


def _withheld(d: Decision) -> Withheld:
    recipient = display_name(d.recipient) if d.recipient else "Ingen mottagare"
    return Withheld(
        d.decided_at, d.event_time, d.event_id, event_in_words(d.event_type), display_name(d.sender), recipient,
        d.reason, reason_in_words(d.reason),
    )  # fmt: skip


def _consent_line(c: ConsentChange) -> ConsentLine:
    excluded = [categories_in_words(list(c.excluded_categories))] if c.excluded_categories else []
    excluded += [event_in_words(t) for t in c.excluded_event_types]
    return ConsentLine(
        at=c.occurred_at,
        consent_id=c.consent_id,
        what=CONSENT_CHANGES.get(c.kind, "Samtycket ändrades"),
        parties=", ".join(display_name(p) for p in c.parties),
        covers=categories_in_words(list(c.categories)),
        excludes=", ".join(excluded) or "Inget",
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        form=FORMS.get(c.form, c.form),
    )


def _access_line(a: Look) -> AccessLine:
    who = a.name or ("Ett verksamhetssystem" if a.user == "token" else a.user)
    return AccessLine(
        a.at, who, a.hsa_id, a.unit, display_name(a.principal), ROLES.get(a.role, a.role), action_in_words(a.action),
        SOURCES.get(a.source, a.source),
    )  # fmt: skip

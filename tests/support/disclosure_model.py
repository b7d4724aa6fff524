"""A reference model of who may see what, written from the Samordna specification alone
("Consent", invariant 1; docs/sources.md).

Plain Python with no import from services/ or contracts/: it is the yardstick the real stack is
held against, so it must not share the code it judges. The event catalogue's categories are
copied here from the SPEC's list for the same reason (a unit test holds them against contracts/).

The rule, as the SPEC states it:
- an event from P is forwarded to Q only if, at the moment of the decision, some consent of the
  person names both P and Q, is not revoked, is in force (valid_from <= now < valid_until),
  covers the event's category, does not exclude its category or type, and the event occurred
  within the consent's validity. No statutory bases (the SPEC's default list is empty);
- a principal may see an event if it sent it or the gate forwarded it to that principal — on
  every read surface. Nothing else, whatever consents are recorded later;
- audit search (issue 17): the sender sees every decision about its own events; another
  principal sees only the decisions that forwarded an event to it.
- the board holds only events that crossed (were forwarded to someone), each while a consent
  that allowed it to cross to someone is neither revoked nor ended (issue 19: a person who
  revokes one of two consents keeps what the other allows; one whose last consent ends leaves
  the joint model, and the board forgets what it held about them). A coordinator's board shows a
  person only while a consent that names its principal is neither revoked nor ended.

Time: the model decides an event when it is posted, with the consents as they are then. The
driver keeps that exact by changing consents only while no event is undecided (phases), and by
never putting a validity boundary near the time of a phase.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

ALL_CATEGORIES = frozenset(
    {"attendance", "test_results", "care_transitions", "treatment", "interventions", "coordination"}
)

# The specification's "Event catalogue v1": the category of each type a principal posts.
CATEGORY_OF = {
    "se.samordna.region.visit.missed.v1": "attendance",
    "se.samordna.region.sample.positive.v1": "test_results",
    "se.samordna.region.admission.notified.v1": "care_transitions",
    "se.samordna.region.discharge.planned.v1": "care_transitions",
    "se.samordna.region.discharge.ready.v1": "care_transitions",
    "se.samordna.region.discharge.completed.v1": "care_transitions",
    "se.samordna.region.treatment.started.v1": "treatment",
    "se.samordna.region.treatment.ended.v1": "treatment",
    "se.samordna.region.treatment.conference_decided.v1": "treatment",
    "se.samordna.region.treatment.discharge_group_referral.v1": "treatment",
    "se.samordna.region.assessment.recorded.v1": "test_results",
    "se.samordna.municipality.intervention.missed.v1": "attendance",
    "se.samordna.municipality.intervention.decided.v1": "interventions",
    "se.samordna.municipality.intervention.ending.v1": "interventions",
    "se.samordna.municipality.intervention.ended.v1": "interventions",
    "se.samordna.joint.sip.requested.v1": "coordination",
    "se.samordna.joint.sip.plan_updated.v1": "coordination",
    "se.samordna.joint.careplanning.requested.v1": "coordination",
    "se.samordna.joint.selfrating.recorded.v1": "coordination",
    "se.samordna.joint.contact.closed.v1": "coordination",
}


def may_send(principal: str, event_type: str) -> bool:
    """Region types from a region, municipality types from a municipality, joint types from either."""
    if ".region." in event_type:
        return principal.startswith("region-")
    if ".municipality." in event_type:
        return principal.startswith("kommun-")
    return ".joint." in event_type


@dataclass(frozen=True)
class Consent:
    id: str
    person: str
    parties: frozenset[str]
    valid_from: datetime
    valid_until: datetime
    categories: frozenset[str] = ALL_CATEGORIES
    excluded_categories: frozenset[str] = frozenset()
    excluded_types: frozenset[str] = frozenset()
    revoked: bool = False

    def allows(self, sender: str, recipient: str, event: "Event", now: datetime) -> bool:
        return (
            sender in self.parties
            and recipient in self.parties
            and not self.revoked
            and self.valid_from <= now < self.valid_until
            and self.valid_from <= event.time < self.valid_until
            and event.category in self.categories
            and event.category not in self.excluded_categories
            and event.type not in self.excluded_types
        )

    def live(self, now: datetime) -> bool:
        """Neither revoked nor ended: the person is in the joint model by this consent (or soon will be)."""
        return not self.revoked and now < self.valid_until


@dataclass(frozen=True)
class Event:
    id: str
    sender: str
    type: str
    person: str
    time: datetime

    @property
    def category(self) -> str:
        return CATEGORY_OF[self.type]


@dataclass(frozen=True)
class Decided:
    event: Event
    forwarded_to: frozenset[str]
    step: int  # the model's step when the event was posted
    holders: frozenset[str] = frozenset()  # the consents that allowed it to cross to someone

    @property
    def crossed(self) -> bool:
        return bool(self.forwarded_to)

    def parties(self) -> frozenset[str]:
        return self.forwarded_to | {self.event.sender}


@dataclass
class Model:
    principals: tuple[str, ...]
    consents: dict[str, Consent] = field(default_factory=dict)
    events: dict[str, Decided] = field(default_factory=dict)
    step: int = 0

    # ---- changes -------------------------------------------------------------------
    def grant(self, consent: Consent) -> None:
        self.step += 1
        self.consents[consent.id] = consent

    def revoke(self, consent_id: str) -> None:
        self.step += 1
        consent = self.consents[consent_id]
        self.consents[consent_id] = replace(consent, revoked=True)

    def post(self, event: Event, now: datetime) -> Decided:
        """Decide the event as the gate must at `now`, and remember it."""
        self.step += 1
        recipients = self.recipients(event, now)
        holders = frozenset(
            c.id for c in self.consents_of(event.person) for q in recipients if c.allows(event.sender, q, event, now)
        )
        decided = Decided(event, recipients, self.step, holders)
        self.events[event.id] = decided
        return decided

    # ---- the rule ------------------------------------------------------------------
    def recipients(self, event: Event, now: datetime) -> frozenset[str]:
        return frozenset(
            q
            for q in self.principals
            if q != event.sender and any(c.allows(event.sender, q, event, now) for c in self.consents_of(event.person))
        )

    def consents_of(self, person: str) -> list[Consent]:
        return [c for c in self.consents.values() if c.person == person]

    def may_see(self, principal: str, event_id: str) -> bool:
        return principal in self.events[event_id].parties()

    # ---- what each surface must show -----------------------------------------------
    def delivered_to(self, principal: str) -> set[str]:
        """Inbox, deliveries topic and webhooks: exactly the events forwarded to the principal."""
        return {i for i, d in self.events.items() if principal in d.forwarded_to}

    def visible_to(self, principal: str) -> set[str]:
        return {i for i, d in self.events.items() if principal in d.parties()}

    def on_board(self, principal: str, person: str, now: datetime) -> set[str]:
        """The person's events on the principal's board (and timeline, alerts): crossed, seen by
        the principal, held by a consent still live, while a live consent names the principal."""
        if not any(c.live(now) and principal in c.parties for c in self.consents_of(person)):
            return set()
        return {
            i
            for i, d in self.events.items()
            if d.event.person == person
            and d.crossed
            and principal in d.parties()
            and any(self.consents[h].live(now) for h in d.holders)
        }

    def audit_rows(self, principal: str, person: str) -> "AuditExpectation":
        own, received = {}, set()
        for event_id, d in self.events.items():
            if d.event.person != person:
                continue
            if d.event.sender == principal:
                own[event_id] = d.forwarded_to
            elif principal in d.forwarded_to:
                received.add(event_id)
        return AuditExpectation(principal, own, received)


@dataclass(frozen=True)
class AuditExpectation:
    """What one principal's audit search about one person must answer.

    `own`: the principal's own events and to whom each was forwarded; every decision about them
    may be shown (a withheld one too), but at least one must be, and forwarded/withheld must be
    true. `received`: others' events forwarded to the principal: exactly the forwarding row."""

    principal: str
    own: dict[str, frozenset[str]]
    received: set[str]

    def judge(self, event_id: str, recipient: str | None, forwarded: bool) -> str | None:
        """Why one audit row must not be shown as it is, or None if it may."""
        if event_id in self.own:
            if forwarded != (recipient in self.own[event_id]):
                return "wrong"  # says forwarded when withheld, or the other way round
            return None
        if event_id in self.received and recipient == self.principal and forwarded:
            return None
        return "extra"

"""Payload (`data`) models of the v1 event catalogue. None holds a personal identity number:
the person is the envelope's `subject`, and text fields refuse a valid personnummer however
written. Text must be storable (no NUL), and dates fall in 1900-2100, so that no consumer or
page behind the gate meets a value it cannot store or compute with."""

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from contracts.person import refuse_person_id
from contracts.principals import PrincipalId
from contracts.text import refuse_implausible_date, refuse_unstorable


def _canonical_uuid(text: str) -> str:
    try:
        return str(UUID(text))
    except ValueError:
        raise ValueError("must be a UUID such as 6f1c1a2e-3d6b-4c3e-9a57-2f8f7c1d0b11") from None


def _text(max_length: int, description: str | None = None):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(refuse_unstorable),
        AfterValidator(refuse_person_id),
        Field(description=description),
    ]


Day = Annotated[date, AfterValidator(refuse_implausible_date)]
Instant = Annotated[AwareDatetime, AfterValidator(refuse_implausible_date)]


Text = _text(500)
Label = _text(50)
Ref = _text(100, "an id in the sender's own system")
Unit = _text(100, "HSA-id or org-unit id of the unit")
ConsentId = Annotated[str, AfterValidator(_canonical_uuid), Field(json_schema_extra={"format": "uuid"})]
InterventionKind = Literal["boendestod", "behandling", "sysselsattning", "ekonomiskt_bistand", "other"]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- region -----------------------------------------------------------------------------
class VisitMissed(Payload):
    unit: Unit
    planned_at: Instant
    visit_kind: Text | None = None


class SamplePositive(Payload):
    sample_type: Literal["urine", "blood", "b-peth", "other"]
    substances: list[Text] = Field(min_length=1, max_length=20)
    sampled_at: Instant
    unit: Unit | None = None


class AdmissionNotified(Payload):
    ward: Unit
    admitted_at: Instant


class DischargePlanned(Payload):
    ward: Unit
    expected_date: Day


class DischargeReady(Payload):
    ward: Unit
    ready_at: Instant


class DischargeCompleted(Payload):
    discharged_from: Literal["ward", "laro_programme"]
    unit: Unit | None = None
    completed_on: Day


class TreatmentStarted(Payload):
    treatment_id: Ref
    treatment_kind: Literal["laro", "abstinence", "psychiatric", "addiction", "other"]
    started_on: Day
    goal: Text | None = None


class TreatmentEnded(Payload):
    treatment_id: Ref
    ended_on: Day
    reason: Text | None = None


class ConferenceDecided(Payload):
    outcome: Literal["accepted", "rejected", "remanded"]
    decided_on: Day


class DischargeGroupReferral(Payload):
    referred_on: Day
    reason: Text | None = None


class AssessmentRecorded(Payload):
    instrument: Literal["AUDIT", "DUDIT", "MADRS-S", "FREDA", "other"]
    score: int = Field(ge=0, le=1000)
    assessed_on: Day


# --- municipality -----------------------------------------------------------------------
class InterventionMissed(Payload):
    intervention_id: Ref
    missed_on: Day
    intervention_kind: InterventionKind | None = None


class InterventionDecided(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    decided_on: Day
    starts_on: Day | None = None
    ends_on: Day | None = None


class InterventionEnding(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    ends_on: Day


class InterventionEnded(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    ended_on: Day
    reason: Text | None = None


# --- either principal -------------------------------------------------------------------
class SipRequested(Payload):
    meeting_at: Instant
    location: Text | None = None
    reason: Text | None = None


class Responsibility(Payload):
    party: PrincipalId
    task: Text


class SipPlanUpdated(Payload):
    goals: list[Text] = Field(min_length=1, max_length=20)
    responsibilities: list[Responsibility] = Field(default_factory=list, max_length=50)
    next_follow_up: Day | None = None


class CareplanningRequested(Payload):
    reason: Text
    requested_on: Day


class SelfratingRecorded(Payload):
    ratings: dict[Label, Annotated[int, Field(ge=0, le=10)]] = Field(min_length=1, max_length=30)
    rated_on: Day


class ContactOpened(Payload):
    unit: Unit
    opened_on: Day
    referral_source: Literal["self", "vardcentral", "socialtjanst", "other"]


class ContactClosed(Payload):
    unit: Unit
    closed_on: Day
    reason: Text | None = None


# --- consent service --------------------------------------------------------------------
class ConsentChanged(Payload):
    consent_id: ConsentId
    parties: list[PrincipalId] = Field(min_length=2, max_length=50)
    valid_from: Instant
    valid_until: Instant

    @field_validator("valid_until")
    @classmethod
    def _after_valid_from(cls, valid_until: datetime, info: ValidationInfo) -> datetime:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_until <= valid_from:
            raise ValueError("must be after valid_from")
        return valid_until


# --- gateways: receipts (kvittens) ------------------------------------------------------
# The id of the acknowledged event, as its sender wrote it. Not checked for a personnummer:
# new ids cannot hold one, and refusing the receipt of an event accepted before that rule
# would leave it unacknowledgeable and wedge the overdue scan; it goes back to its own sender.
ReceiptOf = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(refuse_unstorable)]


class ReceiptAcknowledged(Payload):
    """The recipient has received and taken in a delivered event; goes back to its sender only."""

    addressee: PrincipalId = Field(description="the sender of the acknowledged event, the only recipient")
    event_id: ReceiptOf
    event_type: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(refuse_unstorable)]
    acknowledged_at: Instant
    unit: Unit | None = None


class ReceiptOverdue(Payload):
    """A delivered event that needs action was not acknowledged by its deadline."""

    addressee: PrincipalId = Field(description="the sender of the unacknowledged event, the only recipient")
    event_id: ReceiptOf
    event_type: Annotated[str, Field(min_length=1, max_length=200), AfterValidator(refuse_unstorable)]
    received_at: Instant
    deadline: Instant

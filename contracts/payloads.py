"""Payload (`data`) models of the v1 event catalogue. None holds a personal identity number:
the person is the envelope's `subject`, and text fields refuse a valid personnummer."""

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

from contracts.person import contains_person_id
from contracts.principals import PrincipalId


def _no_person_id(text: str) -> str:
    if contains_person_id(text):
        raise ValueError("must not hold a personnummer; the person is the event's subject")
    return text


def _canonical_uuid(text: str) -> str:
    try:
        return str(UUID(text))
    except ValueError:
        raise ValueError("must be a UUID such as 6f1c1a2e-3d6b-4c3e-9a57-2f8f7c1d0b11") from None


def _text(max_length: int, description: str | None = None):
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_no_person_id),
        Field(description=description),
    ]


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
    planned_at: AwareDatetime
    visit_kind: Text | None = None


class SamplePositive(Payload):
    sample_type: Literal["urine", "blood", "b-peth", "other"]
    substances: list[Text] = Field(min_length=1, max_length=20)
    sampled_at: AwareDatetime
    unit: Unit | None = None


class AdmissionNotified(Payload):
    ward: Unit
    admitted_at: AwareDatetime


class DischargePlanned(Payload):
    ward: Unit
    expected_date: date


class DischargeReady(Payload):
    ward: Unit
    ready_at: AwareDatetime


class DischargeCompleted(Payload):
    discharged_from: Literal["ward", "laro_programme"]
    unit: Unit | None = None
    completed_on: date


class TreatmentStarted(Payload):
    treatment_id: Ref
    treatment_kind: Literal["laro", "abstinence", "psychiatric", "addiction", "other"]
    started_on: date
    goal: Text | None = None


class TreatmentEnded(Payload):
    treatment_id: Ref
    ended_on: date
    reason: Text | None = None


class ConferenceDecided(Payload):
    outcome: Literal["accepted", "rejected", "remanded"]
    decided_on: date


class DischargeGroupReferral(Payload):
    referred_on: date
    reason: Text | None = None


class AssessmentRecorded(Payload):
    instrument: Literal["AUDIT", "DUDIT", "MADRS-S", "FREDA", "other"]
    score: int = Field(ge=0, le=1000)
    assessed_on: date


# --- municipality -----------------------------------------------------------------------
class InterventionMissed(Payload):
    intervention_id: Ref
    missed_on: date
    intervention_kind: InterventionKind | None = None


class InterventionDecided(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    decided_on: date
    starts_on: date | None = None
    ends_on: date | None = None


class InterventionEnding(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    ends_on: date


class InterventionEnded(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    ended_on: date
    reason: Text | None = None


# --- either principal -------------------------------------------------------------------
class SipRequested(Payload):
    meeting_at: AwareDatetime
    location: Text | None = None
    reason: Text | None = None


class Responsibility(Payload):
    party: PrincipalId
    task: Text


class SipPlanUpdated(Payload):
    goals: list[Text] = Field(min_length=1, max_length=20)
    responsibilities: list[Responsibility] = Field(default_factory=list, max_length=50)
    next_follow_up: date | None = None


class CareplanningRequested(Payload):
    reason: Text
    requested_on: date


class SelfratingRecorded(Payload):
    ratings: dict[Label, Annotated[int, Field(ge=0, le=10)]] = Field(min_length=1, max_length=30)
    rated_on: date


class ContactOpened(Payload):
    unit: Unit
    opened_on: date
    referral_source: Literal["self", "vardcentral", "socialtjanst", "other"]


class ContactClosed(Payload):
    unit: Unit
    closed_on: date
    reason: Text | None = None


# --- consent service --------------------------------------------------------------------
class ConsentChanged(Payload):
    consent_id: ConsentId
    parties: list[PrincipalId] = Field(min_length=2, max_length=50)
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @field_validator("valid_until")
    @classmethod
    def _after_valid_from(cls, valid_until: datetime, info: ValidationInfo) -> datetime:
        valid_from = info.data.get("valid_from")
        if valid_from is not None and valid_until <= valid_from:
            raise ValueError("must be after valid_from")
        return valid_until


# --- gateways: receipts (kvittens) ------------------------------------------------------
class ReceiptAcknowledged(Payload):
    """The recipient has received and taken in a delivered event; goes back to its sender only."""

    addressee: PrincipalId = Field(description="the sender of the acknowledged event, the only recipient")
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    event_type: Annotated[str, Field(min_length=1, max_length=200)]
    acknowledged_at: AwareDatetime
    unit: Unit | None = None


class ReceiptOverdue(Payload):
    """A delivered event that needs action was not acknowledged by its deadline."""

    addressee: PrincipalId = Field(description="the sender of the unacknowledged event, the only recipient")
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    event_type: Annotated[str, Field(min_length=1, max_length=200)]
    received_at: AwareDatetime
    deadline: AwareDatetime

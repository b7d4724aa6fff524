"""Payload (`data`) models of the v1 event catalogue. None holds a personal identity number:
the person is the envelope's `subject`."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.principals import PrincipalId

Text = Annotated[str, Field(min_length=1, max_length=500)]
Ref = Annotated[str, Field(min_length=1, max_length=100, description="an id in the sender's own system")]
Unit = Annotated[str, Field(min_length=1, max_length=100, description="HSA-id or org-unit id of the unit")]
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
    unit: Unit
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
    intervention_kind: InterventionKind
    missed_on: date


class InterventionDecided(Payload):
    intervention_id: Ref
    intervention_kind: InterventionKind
    decided_on: date
    starts_on: date
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
    ratings: dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[int, Field(ge=0, le=10)]] = Field(
        min_length=1, max_length=30
    )
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
    consent_id: Annotated[str, Field(min_length=1, max_length=64)]
    parties: list[PrincipalId] = Field(min_length=2)
    valid_from: datetime
    valid_until: datetime

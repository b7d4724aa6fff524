"""HTTP routes of the consent service: thin, each calls one function of the service layer."""

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from contracts import PersonId
from services.consent.consents import ConsentRequest, ConsentView, RevokeRequest
from services.consent.deps import AuditDep, ConsentsDep, Coordinator, PreviewsDep
from services.runtime.openapi import problems

router = APIRouter(prefix="/v1")


class PersonQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: PersonId


class ConsentList(BaseModel):
    consents: list[ConsentView]


class AuditEntry(BaseModel):
    decision_id: UUID
    event_id: str
    event_type: str
    category: str
    sender: str
    recipient: str | None
    forwarded: bool
    reason: str
    basis: str
    consent_id: UUID | None
    legal_reference: str | None
    event_time: datetime
    decided_at: datetime


class AuditList(BaseModel):
    entries: list[AuditEntry]


@router.post("/consents", status_code=status.HTTP_201_CREATED, response_model=ConsentView)
async def record_consent(body: ConsentRequest, consents: ConsentsDep, caller: Coordinator):
    return await consents.record(caller, body)


@router.post("/consents/search", response_model=ConsentList)
async def search_consents(body: PersonQuery, consents: ConsentsDep, caller: Coordinator):
    return ConsentList(consents=await consents.of_person(caller, body.person))


class PreviewItem(BaseModel):
    event_id: str
    event_type: str
    label: str
    sender: str
    event_time: datetime
    would_cross_to: list[str]
    withheld: dict[str, str]


class Preview(BaseModel):
    events: list[PreviewItem]


@router.post("/consents/preview", response_model=Preview)
async def preview_consent(body: ConsentRequest, previews: PreviewsDep, caller: Coordinator):
    """Which of the person's recent events (sent or received by the caller's principal) would
    have crossed under this proposed consent, and to whom. Nothing is recorded."""
    return Preview(events=await previews.preview(caller, body))


@router.post("/consents/{consent_id}/revoke", response_model=ConsentView, responses=problems(404, 422))
async def revoke_consent(
    consent_id: UUID, consents: ConsentsDep, caller: Coordinator, body: RevokeRequest | None = None
):
    """Revokes the consent at once (the answer comes once it is committed); the optional body says why."""
    return await consents.revoke(caller, consent_id, body.reason if body else None)


class HistoryEntry(BaseModel):
    kind: str
    occurred_at: datetime
    event_id: str


class ConsentHistory(BaseModel):
    consent_id: UUID
    history: list[HistoryEntry]


@router.get("/consents/{consent_id}/history", response_model=ConsentHistory, responses=problems(404))
async def consent_history(consent_id: UUID, consents: ConsentsDep, caller: Coordinator):
    """Every version of the consent, oldest first: granted, then revoked, expiring or expired."""
    return ConsentHistory(consent_id=consent_id, history=await consents.history(caller, consent_id))


@router.post("/audit/search", response_model=AuditList)
async def search_audit(body: PersonQuery, audit: AuditDep, caller: Coordinator):
    rows = await audit.of_person(caller, body.person)
    return AuditList(entries=[AuditEntry(**dict(row)) for row in rows])

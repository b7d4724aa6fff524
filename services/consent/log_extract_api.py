"""The consent service's part of a person's log extract, for the board's Loggutdrag page:

    POST /v1/log-extract  {"person": "<personnummer>"}

The person is named in the body, never in a URL; only coordinators ask, and they get what their
own principal may know (services/consent/log_extract.py). The answer is itself logged.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from contracts.log_extract import AccessEntry
from services.consent.api import AuditEntry, HistoryEntry, PersonQuery
from services.consent.consents import ConsentView
from services.consent.deps import Coordinator, DepsDep
from services.consent.log_extract import LogExtracts

router = APIRouter(prefix="/v1")


def _extracts(deps: DepsDep) -> LogExtracts:
    return LogExtracts(deps.consents, deps.audit, deps.access_log, deps.pseudonyms)


class ConsentWithHistory(BaseModel):
    consent: ConsentView
    history: list[HistoryEntry]


class LogExtractData(BaseModel):
    principal: str
    decisions: list[AuditEntry]
    consents: list[ConsentWithHistory]
    accesses: list[AccessEntry]


@router.post("/log-extract", response_model=LogExtractData)
async def log_extract(
    body: PersonQuery, extracts: Annotated[LogExtracts, Depends(_extracts)], caller: Coordinator
) -> LogExtractData:
    """The person's audit decisions, consents with their history and access-log entries, as far as
    the caller's principal may know them: its part of the person's log extract."""
    data = await extracts.for_person(caller, body.person)
    return LogExtractData(
        principal=data.principal,
        decisions=[AuditEntry(**dict(row)) for row in data.decisions],
        consents=[ConsentWithHistory(consent=view, history=history) for view, history in data.consents],
        accesses=[AccessEntry(**entry) for entry in data.accesses],
    )

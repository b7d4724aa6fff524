"""HTTP routes of a principal's gateway: events in, inbox out, receipts, dead letters.

The routes parse, call one store and shape the answer; refusals are the domain errors of
services/gateway/errors.py, answered as problem details by the app (services/gateway/app.py).
"""

import json
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts.envelope import PRINTABLE_ASCII
from contracts.payloads import Unit
from contracts.principals import PrincipalId
from contracts.text import MAX_INT64
from services.gateway import api_models as models
from services.gateway.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, read_batch, results
from services.gateway.deps import AccessLogDep, DeadLettersDep, InboxDep, OutboxDep, PseudonymsDep, ReceiptsDep
from services.gateway.intake import read_event, workspace_source
from services.gateway.outbox import Accepted
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller, Role, require
from services.runtime.metrics import EVENTS_ACCEPTED
from services.runtime.openapi import problems


class Acknowledgement(BaseModel):
    """Optional details of a receipt. `sender` is needed only if two senders used the same event id."""

    model_config = ConfigDict(extra="forbid")

    sender: PrincipalId | None = None
    unit: Unit | None = None


def build_router(principal: str) -> APIRouter:
    router = APIRouter(prefix="/v1")
    own_system = require(Role.SYSTEM, principal=principal)
    # its own staff, with their own token, where they act by hand (the board's workspace)
    own_system_or_staff = require(Role.SYSTEM, Role.COORDINATOR, principal=principal)

    @router.post(
        "/events",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=models.EventAccepted,
        responses=problems(409, 413, 422, s409="the id was accepted before with another body", s413="over 64 KiB"),
        openapi_extra=models.event_request_body(principal),
    )
    async def post_event(
        request: Request,
        outbox: OutboxDep,
        access: AccessLogDep,
        pseudonyms: PseudonymsDep,
        caller: Caller = Depends(own_system_or_staff),
    ):
        """One event from the principal's own system (role `system`), or registered by hand by its
        own staff (role `coordinator`, the user's own token through the board's workspace): the same
        validation and outbox. A coordinator's event gets `source` `samordna-arbetsyta/<user>`
        (the HSA-id of the token, else its subject), whatever the body says."""
        source = workspace_source(caller.user) if caller.role is Role.COORDINATOR else None
        event = read_event(await request.body(), sender=caller.principal, source=source)
        accepted = await outbox.accept(event)
        EVENTS_ACCEPTED.labels(principal).inc()
        person = lambda: [pseudonyms.of(event.subject)]  # noqa: E731 (computed for staff only)
        await by_staff(access, caller, "gateway.event.sent", person, {"type": event.type})
        return {"id": accepted.id, "accepted_at": accepted.accepted_at.isoformat()}

    @router.post(
        "/events:batch",
        response_model=models.BatchAccepted,
        responses=problems(
            413, 422, s413=f"over {MAX_BATCH_EVENTS} events or {MAX_BATCH_BYTES} bytes", s422="not a list of events"
        ),
        openapi_extra=models.batch_request_body(MAX_BATCH_EVENTS, MAX_BATCH_BYTES),
    )
    async def post_events(request: Request, outbox: OutboxDep, caller: Caller = Depends(own_system)):
        """Each event read and refused or accepted on its own; the accepted ones are committed
        (in one transaction) before the answer."""
        items = read_batch(await request.body(), sender=caller.principal)
        answers = await outbox.accept_many([item.event for item in items if item.event is not None])
        EVENTS_ACCEPTED.labels(principal).inc(sum(isinstance(answer, Accepted) for answer in answers))
        return JSONResponse({"results": results(items, answers)})

    @router.get("/inbox", response_model=models.Inbox)
    async def read_inbox(
        inbox: InboxDep,
        access: AccessLogDep,
        pseudonyms: PseudonymsDep,
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system_or_staff),
    ):
        entries = [_entry(item) for item in await inbox.read(after, limit)]
        await by_staff(access, caller, "gateway.inbox.read", lambda: _persons(entries, pseudonyms))
        return {"events": entries, "next_cursor": str(entries[-1]["seq"] if entries else after)}

    @router.get("/inbox/latest", response_model=models.LatestInbox)
    async def latest_in_inbox(
        inbox: InboxDep,
        access: AccessLogDep,
        pseudonyms: PseudonymsDep,
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system_or_staff),
    ):
        """For a person at a desk (the board's Inkorg): what needs a look first. Every event whose
        receipt is overdue, earliest deadline first, then the rest, newest first; receipts (which
        answer this principal's own events) are left out. Systems read `/v1/inbox` by cursor."""
        entries = [_entry(item) for item in await inbox.latest(limit)]
        await by_staff(access, caller, "gateway.inbox.latest", lambda: _persons(entries, pseudonyms))
        return {"events": entries}

    @router.post(
        "/inbox/{event_id}/ack",
        response_model=models.Receipt,
        responses=problems(
            404, 409, s404="no delivered event has this id", s409="two senders used this id: name the sender"
        ),
    )
    async def acknowledge(
        receipts: ReceiptsDep,
        access: AccessLogDep,
        # event ids are printable ASCII (contracts.envelope): anything else is in no inbox
        event_id: str = Path(min_length=1, max_length=128, pattern=PRINTABLE_ASCII),
        details: Acknowledgement | None = Body(None),
        caller: Caller = Depends(own_system_or_staff),
    ):
        details = details or Acknowledgement()
        receipt = await receipts.acknowledge(event_id, details.sender, details.unit)
        await by_staff(access, caller, "gateway.receipt.sent", lambda: [receipt.person], {"event_id": event_id})
        return {
            "event_id": receipt.event_id,
            "sender": receipt.sender,
            "receipt_id": receipt.receipt_id,
            "acknowledged_at": receipt.acknowledged_at.isoformat(),
        }

    @router.get("/dead-letters", response_model=models.DeadLetters)
    async def list_dead_letters(
        dead_letters: DeadLettersDep,
        status: Literal["open", "replayed", "all"] = Query("open"),
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the last id of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        rows = await dead_letters.list(status, after, limit)
        return {
            "dead_letters": [
                {**row, "failed_at": _iso(row["failed_at"]), "replayed_at": _iso(row["replayed_at"])} for row in rows
            ],
            "next_cursor": str(rows[-1]["id"] if rows else after),
        }

    return router


async def by_staff(
    access, caller: Caller, action: str, persons: Callable[[], list[str]], detail: dict | None = None
) -> None:
    """An access-log entry per person (the pseudonyms `persons` gives) for what a member of staff
    did with their own token (role `coordinator`: a person at a desk). A system's calls are its
    own record-keeping: the journal system that reads the inbox logs its users' access to what it
    stored (docs/operations.md); for them nothing is computed or written."""
    if caller.role is Role.COORDINATOR and (seen := dict.fromkeys(persons())):
        who = Accessor.of_token(caller)
        await access.record([Access(who, action, person, detail or {}) for person in seen])


def _persons(entries: list[dict], pseudonyms) -> list[str]:
    return [pseudonyms.of(entry["event"]["subject"]) for entry in entries]


def _entry(item) -> dict:
    return {
        "seq": item.seq,
        "delivery_seq": item.delivery_seq,
        "received_at": item.received_at.isoformat(),
        "receipt_due_at": _iso(item.receipt_due_at),
        "acknowledged_at": _iso(item.acknowledged_at),
        "event": json.loads(item.event),
    }


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None

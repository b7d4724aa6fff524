"""HTTP routes of a principal's gateway: events in, inbox out, receipts, dead letters.

The routes parse, call one store and shape the answer; refusals are the domain errors of
services/gateway/errors.py, answered as problem details by the app (services/gateway/app.py).
"""

import json
from typing import Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict

from contracts.envelope import PRINTABLE_ASCII
from contracts.payloads import Unit
from contracts.principals import PrincipalId
from contracts.text import MAX_INT64
from services.gateway import api_models as models
from services.gateway.deps import DeadLettersDep, InboxDep, OutboxDep, ReceiptsDep
from services.gateway.intake import read_event, workspace_source
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
    async def post_event(request: Request, outbox: OutboxDep, caller: Caller = Depends(own_system_or_staff)):
        """One event from the principal's own system (role `system`), or registered by hand by its
        own staff (role `coordinator`, the user's own token through the board's workspace): the same
        validation and outbox. A coordinator's event gets `source` `samordna-arbetsyta/<user>`
        (the HSA-id of the token, else its subject), whatever the body says."""
        source = workspace_source(caller.user) if caller.role is Role.COORDINATOR else None
        event = read_event(await request.body(), sender=caller.principal, source=source)
        accepted = await outbox.accept(event)
        EVENTS_ACCEPTED.labels(principal).inc()
        return {"id": accepted.id, "accepted_at": accepted.accepted_at.isoformat()}

    @router.get("/inbox", response_model=models.Inbox)
    async def read_inbox(
        inbox: InboxDep,
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system_or_staff),
    ):
        items = await inbox.read(after, limit)
        return {"events": [_entry(item) for item in items], "next_cursor": str(items[-1].seq if items else after)}

    @router.get("/inbox/latest", response_model=models.LatestInbox)
    async def latest_in_inbox(
        inbox: InboxDep, limit: int = Query(100, ge=1, le=1000), caller: Caller = Depends(own_system_or_staff)
    ):
        """For a person at a desk (the board's Inkorg): what needs a look first. Every event whose
        receipt is overdue, earliest deadline first, then the rest, newest first; receipts (which
        answer this principal's own events) are left out. Systems read `/v1/inbox` by cursor."""
        return {"events": [_entry(item) for item in await inbox.latest(limit)]}

    @router.post(
        "/inbox/{event_id}/ack",
        response_model=models.Receipt,
        responses=problems(
            404, 409, s404="no delivered event has this id", s409="two senders used this id: name the sender"
        ),
    )
    async def acknowledge(
        receipts: ReceiptsDep,
        # event ids are printable ASCII (contracts.envelope): anything else is in no inbox
        event_id: str = Path(min_length=1, max_length=128, pattern=PRINTABLE_ASCII),
        details: Acknowledgement | None = Body(None),
        caller: Caller = Depends(own_system_or_staff),
    ):
        details = details or Acknowledgement()
        receipt = await receipts.acknowledge(event_id, details.sender, details.unit)
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

"""HTTP routes of a principal's gateway: events in, inbox out."""

import json
from typing import Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from contracts import MAX_EVENT_BYTES, InvalidEvent, parse_event
from contracts.envelope import PRINTABLE_ASCII, FieldError
from contracts.payloads import Unit
from contracts.principals import PrincipalId
from contracts.text import MAX_INT64
from services.gateway import dead_letters, inbox, outbox, receipts
from services.gateway.errors import EventIdConflict
from services.runtime.auth import Caller, Role, require
from services.runtime.metrics import EVENTS_ACCEPTED
from services.runtime.problems import Problem, problem_response


class Acknowledgement(BaseModel):
    """Optional details of a receipt. `sender` is needed only if two senders used the same event id."""

    model_config = ConfigDict(extra="forbid")

    sender: PrincipalId | None = None
    unit: Unit | None = None


def build_router(principal: str) -> APIRouter:
    router = APIRouter(prefix="/v1")
    own_system = require(Role.SYSTEM, principal=principal)

    @router.post("/events", status_code=status.HTTP_202_ACCEPTED)
    async def post_event(request: Request, caller: Caller = Depends(own_system)):
        raw = await request.body()
        if len(raw) > MAX_EVENT_BYTES:
            return _error(
                413,
                "event-too-large",
                [{"field": "body", "message": f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}"}],
            )
        try:
            event = parse_event(raw, sender=caller.principal)
        except InvalidEvent as exc:
            return _error(422, "invalid-event", [dict(e) for e in exc.errors])
        gateway = request.app.state.gateway
        try:
            accepted = await outbox.accept(gateway.pool, event, gateway.pseudonyms.of(event.subject))
        except EventIdConflict:
            return _error(
                409,
                "event-id-conflict",
                [{"field": "id", "message": f"event {event.id} was accepted before with a different body"}],
            )
        gateway.relay.notify()
        EVENTS_ACCEPTED.labels(principal).inc()
        return {"id": accepted.id, "accepted_at": accepted.accepted_at.isoformat()}

    @router.get("/inbox")
    async def read_inbox(
        request: Request,
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        items = await inbox.read(request.app.state.gateway.pool, after, limit)
        return {
            "events": [
                {
                    "seq": item.seq,
                    "delivery_seq": item.delivery_seq,
                    "received_at": item.received_at.isoformat(),
                    "receipt_due_at": _iso(item.receipt_due_at),
                    "acknowledged_at": _iso(item.acknowledged_at),
                    "event": json.loads(item.event),
                }
                for item in items
            ],
            "next_cursor": str(items[-1].seq if items else after),
        }

    @router.post("/inbox/{event_id}/ack")
    async def acknowledge(
        request: Request,
        # event ids are printable ASCII (contracts.envelope): anything else is in no inbox
        event_id: str = Path(min_length=1, max_length=128, pattern=PRINTABLE_ASCII),
        details: Acknowledgement | None = Body(None),
        caller: Caller = Depends(own_system),
    ):
        details = details or Acknowledgement()
        gateway = request.app.state.gateway
        try:
            receipt = await receipts.acknowledge(
                gateway.pool, gateway.pseudonyms, principal, event_id, details.sender, details.unit
            )
        except receipts.NotInInbox:
            return _error(404, "not-in-inbox", [{"field": "event_id", "message": "no delivered event has this id"}])
        except receipts.AmbiguousEventId as exc:
            message = f"events from {', '.join(exc.senders)} have this id: name the sender"
            return _error(409, "ambiguous-event-id", [{"field": "sender", "message": message}])
        gateway.relay.notify()
        return {
            "event_id": receipt.event_id,
            "sender": receipt.sender,
            "receipt_id": receipt.receipt_id,
            "acknowledged_at": receipt.acknowledged_at.isoformat(),
        }

    @router.get("/dead-letters")
    async def list_dead_letters(
        request: Request,
        status: Literal["open", "replayed", "all"] = Query("open"),
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the last id of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        rows = await dead_letters.listing(request.app.state.gateway.pool, status, after, limit)
        return {
            "dead_letters": [
                {**row, "failed_at": _iso(row["failed_at"]), "replayed_at": _iso(row["replayed_at"])} for row in rows
            ],
            "next_cursor": str(rows[-1]["id"] if rows else after),
        }

    return router


def _error(status_code: int, slug: str, errors: list[dict]) -> JSONResponse:
    fields = [FieldError(**error) for error in errors]
    detail = fields[0].message if len(fields) == 1 else "; ".join(f"{e.field}: {e.message}" for e in fields)
    return problem_response(Problem(detail, fields, slug=slug, status=status_code))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None

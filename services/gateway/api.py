"""HTTP routes of a principal's gateway: events in, inbox out."""

import json

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse

from contracts import MAX_EVENT_BYTES, InvalidEvent, parse_event
from services.gateway import inbox, outbox
from services.gateway.errors import EventIdConflict
from services.runtime.auth import Caller, Role, require


def build_router(principal: str) -> APIRouter:
    router = APIRouter(prefix="/v1")
    own_system = require(Role.SYSTEM, principal=principal)

    @router.post("/events", status_code=status.HTTP_202_ACCEPTED)
    async def post_event(request: Request, caller: Caller = Depends(own_system)):
        raw = await request.body()
        if len(raw) > MAX_EVENT_BYTES:
            return _error(
                413,
                "event_too_large",
                [{"field": "body", "message": f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}"}],
            )
        try:
            event = parse_event(raw, sender=caller.principal)
        except InvalidEvent as exc:
            return _error(422, "invalid_event", [dict(e) for e in exc.errors])
        gateway = request.app.state.gateway
        try:
            accepted = await outbox.accept(gateway.pool, event, gateway.pseudonyms.of(event.subject))
        except EventIdConflict:
            return _error(
                409,
                "event_id_conflict",
                [{"field": "id", "message": f"event {event.id} was accepted before with a different body"}],
            )
        gateway.relay.notify()
        return {"id": accepted.id, "accepted_at": accepted.accepted_at.isoformat()}

    @router.get("/inbox")
    async def read_inbox(
        request: Request,
        after: int = Query(0, ge=0, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        items = await inbox.read(request.app.state.gateway.pool, after, limit)
        return {
            "events": [
                {"seq": item.seq, "received_at": item.received_at.isoformat(), "event": json.loads(item.event)}
                for item in items
            ],
            "next_cursor": str(items[-1].seq if items else after),
        }

    return router


def _error(status_code: int, error: str, errors: list[dict]) -> JSONResponse:
    return JSONResponse({"error": error, "errors": errors}, status_code=status_code)

"""HTTP routes of a gateway's webhook subscriptions, for the principal's own systems.

Subscriptions live in the gateway's own schema, so a principal sees only its own. The secret
is taken once and never shown again.
"""

from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from contracts.catalogue import CATALOGUE, UnknownEventType, spec_for
from contracts.envelope import FieldError
from contracts.person import refuse_person_id
from contracts.text import MAX_INT64, refuse_unstorable
from services.gateway import webhooks
from services.runtime.auth import Caller, Role, require
from services.runtime.problems import Problem, problem_response


def _known_type(event_type: str) -> str:
    try:
        return spec_for(event_type).type
    except UnknownEventType as exc:
        raise ValueError(str(exc)) from None


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A URL is shown back and may reach logs: no personnummer in it, and nothing PostgreSQL refuses.
    url: Annotated[str, AfterValidator(refuse_unstorable), AfterValidator(refuse_person_id)] = Field(
        max_length=2048, description="http(s) endpoint; https only in production"
    )
    secret: Annotated[str, AfterValidator(refuse_unstorable)] = Field(
        min_length=16, max_length=256, description="signs every delivery; never returned"
    )
    event_types: list[Annotated[str, AfterValidator(_known_type)]] = Field(
        default_factory=list, max_length=len(CATALOGUE), description="catalogue types; empty for every type"
    )
    from_seq: int | None = Field(
        None, ge=0, le=MAX_INT64, description="first inbox seq to deliver; default: the inbox's end"
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http or https URL")
        return url


def build_subscriptions_router(principal: str, environment: str) -> APIRouter:
    router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])
    own_system = require(Role.SYSTEM, principal=principal)

    @router.post("", status_code=status.HTTP_201_CREATED)
    async def subscribe(request: Request, new: NewSubscription, caller: Caller = Depends(own_system)):
        if environment == "production" and urlsplit(new.url).scheme != "https":
            return _error(422, "invalid-request", [{"field": "url", "message": "must be an https URL in production"}])
        event_types = list(dict.fromkeys(new.event_types))
        created = await webhooks.subscribe(_pool(request), new.url, new.secret, event_types, new.from_seq)
        return _subscription(created)

    @router.get("")
    async def list_subscriptions(request: Request, caller: Caller = Depends(own_system)):
        return {"subscriptions": [_subscription(s) for s in await webhooks.subscriptions(_pool(request))]}

    @router.get("/{subscription_id}")
    async def get_subscription(request: Request, subscription_id: str, caller: Caller = Depends(own_system)):
        try:
            found, counts = await webhooks.subscription(_pool(request), subscription_id)
        except webhooks.SubscriptionNotFound:
            return _not_found()
        return _subscription(found) | {"counts": counts}

    @router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_subscription(request: Request, subscription_id: str, caller: Caller = Depends(own_system)):
        try:
            await webhooks.unsubscribe(_pool(request), subscription_id)
        except webhooks.SubscriptionNotFound:
            return _not_found()
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/{subscription_id}/deliveries")
    async def list_deliveries(
        request: Request,
        subscription_id: str,
        status: Literal["pending", "delivered", "parked"] | None = Query(None),
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        try:
            rows = await webhooks.deliveries(_pool(request), subscription_id, status, after, limit)
        except webhooks.SubscriptionNotFound:
            return _not_found()
        return {"deliveries": [_delivery(row) for row in rows], "next_cursor": str(rows[-1]["seq"] if rows else after)}

    @router.post("/{subscription_id}/deliveries/{seq}/resend")
    async def resend(
        request: Request,
        subscription_id: str,
        seq: int = Path(ge=1, le=MAX_INT64),
        caller: Caller = Depends(own_system),
    ):
        try:
            return _delivery(await webhooks.resend(_pool(request), subscription_id, seq))
        except webhooks.SubscriptionNotFound:
            return _not_found()
        except webhooks.DeliveryNotFound:
            return _error(404, "not-found", [{"field": "seq", "message": "the subscription has no such delivery"}])

    @router.post("/{subscription_id}/resend-parked")
    async def resend_parked(request: Request, subscription_id: str, caller: Caller = Depends(own_system)):
        try:
            return {"resent": await webhooks.resend_parked(_pool(request), subscription_id)}
        except webhooks.SubscriptionNotFound:
            return _not_found()

    return router


def _pool(request: Request):
    return request.app.state.gateway.pool


def _subscription(sub: webhooks.Subscription) -> dict:
    return {"id": str(sub.id), "url": sub.url, "event_types": sub.event_types, "created_at": sub.created_at.isoformat()}


def _delivery(row: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}


def _not_found() -> JSONResponse:
    return _error(404, "not-found", [{"field": "subscription_id", "message": "no subscription has this id"}])


def _error(status_code: int, slug: str, errors: list[dict]) -> JSONResponse:
    fields = [FieldError(**error) for error in errors]
    detail = fields[0].message if len(fields) == 1 else "; ".join(f"{e.field}: {e.message}" for e in fields)
    return problem_response(Problem(detail, fields, slug=slug, status=status_code))

"""HTTP routes of a gateway's webhook subscriptions, for the principal's own systems.

Subscriptions live in the gateway's own schema, so a principal sees only its own. The secret
is taken once and never shown again.
"""

from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from contracts.catalogue import CATALOGUE, UnknownEventType, spec_for
from contracts.person import refuse_person_id
from contracts.text import MAX_INT64, refuse_unstorable
from services.gateway import api_models as models
from services.gateway.deps import DeliveriesDep, SubscriptionsDep
from services.gateway.webhooks.subscriptions import Subscription
from services.gateway.webhooks.targets import TargetGuard
from services.runtime.auth import Caller, Role, require
from services.runtime.openapi import problems


def _known_type(event_type: str) -> str:
    try:
        return spec_for(event_type).type
    except UnknownEventType as exc:
        raise ValueError(str(exc)) from None


class NewSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A URL is shown back and may reach logs: no personnummer in it, and nothing PostgreSQL refuses.
    url: Annotated[str, AfterValidator(refuse_unstorable), AfterValidator(refuse_person_id)] = Field(
        max_length=2048,
        description="http(s) endpoint; https only in production",
        json_schema_extra={"format": "uri", "pattern": r"^https?://[^/?#\s]+"},
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


def build_subscriptions_router(principal: str, targets: TargetGuard) -> APIRouter:
    """The routes; `targets` says which webhook URLs may be subscribed."""
    router = APIRouter(prefix="/v1/subscriptions", tags=["webhooks"])
    own_system = require(Role.SYSTEM, principal=principal)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=models.SubscriptionOut,
        responses={
            201: {"links": _SUBSCRIPTION_LINKS},
            **problems(422, 400, s422="a field is wrong, or the URL may not be called (webhook-… problems)"),
        },
    )
    async def subscribe(new: NewSubscription, subscriptions: SubscriptionsDep, caller: Caller = Depends(own_system)):
        await targets.admit(new.url)
        event_types = list(dict.fromkeys(new.event_types))
        return _subscription(await subscriptions.create(new.url, new.secret, event_types, new.from_seq))

    @router.get("", response_model=models.Subscriptions)
    async def list_subscriptions(subscriptions: SubscriptionsDep, caller: Caller = Depends(own_system)):
        return {"subscriptions": [_subscription(s) for s in await subscriptions.list()]}

    @router.get("/{subscription_id}", response_model=models.SubscriptionWithCounts, responses=problems(404))
    async def get_subscription(
        subscription_id: str, subscriptions: SubscriptionsDep, caller: Caller = Depends(own_system)
    ):
        found, counts = await subscriptions.get(subscription_id)
        return _subscription(found) | {"counts": counts}

    @router.delete(
        "/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, responses=problems(404)
    )
    async def delete_subscription(
        subscription_id: str, subscriptions: SubscriptionsDep, caller: Caller = Depends(own_system)
    ):
        await subscriptions.delete(subscription_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get("/{subscription_id}/deliveries", response_model=models.Deliveries, responses=problems(404))
    async def list_deliveries(
        subscription_id: str,
        deliveries: DeliveriesDep,
        status: Literal["pending", "delivered", "parked"] | None = Query(None),
        after: int = Query(0, ge=0, le=MAX_INT64, description="cursor: the next_cursor of the previous page"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(own_system),
    ):
        rows = await deliveries.list(subscription_id, status, after, limit)
        return {"deliveries": [_delivery(row) for row in rows], "next_cursor": str(rows[-1]["seq"] if rows else after)}

    @router.post("/{subscription_id}/deliveries/{seq}/resend", response_model=models.Delivery, responses=problems(404))
    async def resend(
        subscription_id: str,
        deliveries: DeliveriesDep,
        seq: int = Path(ge=1, le=MAX_INT64),
        caller: Caller = Depends(own_system),
    ):
        return _delivery(await deliveries.resend(subscription_id, seq))

    @router.post("/{subscription_id}/resend-parked", response_model=models.Resent, responses=problems(404))
    async def resend_parked(subscription_id: str, deliveries: DeliveriesDep, caller: Caller = Depends(own_system)):
        return {"resent": await deliveries.resend_parked(subscription_id)}

    return router


# What a client can do next with a subscription it created (OpenAPI links, followed by schemathesis).
_SUBSCRIPTION_LINKS = {
    name: {"operationId": operation, "parameters": {"subscription_id": "$response.body#/id"}}
    for name, operation in {
        "GetSubscription": "get_subscription_v1_subscriptions__subscription_id__get",
        "ListDeliveries": "list_deliveries_v1_subscriptions__subscription_id__deliveries_get",
        "ResendParked": "resend_parked_v1_subscriptions__subscription_id__resend_parked_post",
        "DeleteSubscription": "delete_subscription_v1_subscriptions__subscription_id__delete",
    }.items()
}


def _subscription(sub: Subscription) -> dict:
    return {"id": str(sub.id), "url": sub.url, "event_types": sub.event_types, "created_at": sub.created_at.isoformat()}


def _delivery(row: dict) -> dict:
    return {key: value.isoformat() if hasattr(value, "isoformat") else value for key, value in row.items()}

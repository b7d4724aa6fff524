"""FHIR R4 routes of a gateway (`/fhir`), for the principal's own systems: topic-based
Subscriptions (the R5 backport for R4) with `$status` and `$events`, and each delivered event as
a `Communication`. Errors are OperationOutcomes (services/runtime/fhir.py)."""

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from contracts.envelope import FieldError
from contracts.fhir import topics
from contracts.text import MAX_INT64
from services.gateway.deps import FhirSubscriptionsDep
from services.gateway.errors import TargetRefused
from services.gateway.fhir.requests import CONTENTS, SubscriptionRefused, read_subscription
from services.gateway.fhir.resources import (
    communication,
    notification_bundle,
    searchset,
    status_bundle,
    subscription_resource,
    subscription_url,
)
from services.gateway.settings import GatewaySettings
from services.gateway.webhooks.targets import TargetGuard
from services.runtime.auth import Caller, Role, require
from services.runtime.fhir import FHIR_JSON, FHIR_VERSION, FhirError, FhirResponse, FhirRoute
from services.runtime.openapi import fhir_answers, fhir_resource
from services.runtime.problems import InvalidRequest

ENDPOINT = "Subscription.channel.endpoint"
MAX_SUBSCRIPTION_BYTES = 64 * 1024
MAX_EVENTS_PER_QUERY = 100
_JSON_TYPES = {FHIR_JSON, "application/json"}
_SUBSCRIPTION_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": fhir_resource("Subscription")
                | {"required": ["resourceType", "reason", "criteria", "channel"]}
            }
            for media in (FHIR_JSON, "application/json")
        },
    }
}


def build_fhir_router(principal: str, settings: GatewaySettings, targets: TargetGuard) -> APIRouter:
    """The routes; `targets` says which endpoints a subscription may name (as for webhooks)."""
    router = APIRouter(prefix="/fhir", route_class=FhirRoute, tags=["FHIR R4"])
    own_system = require(Role.SYSTEM, principal=principal)
    production = settings.environment == "production"
    base = settings.fhir_base()

    @router.get("/metadata", response_class=FhirResponse, responses=fhir_answers("CapabilityStatement"))
    async def metadata() -> FhirResponse:
        return FhirResponse(capability_statement(principal, datetime.now(UTC)))

    @router.post(
        "/Subscription",
        status_code=status.HTTP_201_CREATED,
        response_class=FhirResponse,
        responses=fhir_answers("Subscription", 413, 415, 422, status=201),
        openapi_extra=_SUBSCRIPTION_BODY,
    )
    async def create_subscription(
        request: Request, store: FhirSubscriptionsDep, caller: Caller = Depends(own_system)
    ) -> FhirResponse:
        """A rest-hook subscription to a topic; it is `requested` until its endpoint takes the handshake."""
        try:
            new = read_subscription(await _resource(request), production)
        except SubscriptionRefused as exc:
            raise InvalidRequest(str(exc), exc.errors) from None
        try:
            await targets.admit(new.endpoint)
        except TargetRefused as exc:  # the webhooks' own refusal, named by the FHIR element
            raise InvalidRequest(str(exc), [FieldError(ENDPOINT, str(exc))]) from None
        sub = await store.create(new)
        location = subscription_url(base, sub.id)
        return FhirResponse(subscription_resource(sub, base), status_code=201, headers={"Location": location})

    @router.get("/Subscription", response_class=FhirResponse, responses=fhir_answers("Bundle"))
    async def list_subscriptions(store: FhirSubscriptionsDep, caller: Caller = Depends(own_system)) -> FhirResponse:
        return FhirResponse(searchset([subscription_resource(s, base) for s in await store.list()], base))

    @router.get(
        "/Subscription/{subscription_id}", response_class=FhirResponse, responses=fhir_answers("Subscription", 404)
    )
    async def read_subscription_route(
        subscription_id: str, store: FhirSubscriptionsDep, caller: Caller = Depends(own_system)
    ) -> FhirResponse:
        return FhirResponse(subscription_resource(await store.get(subscription_id), base))

    @router.delete(
        "/Subscription/{subscription_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        responses=fhir_answers(None, 404, status=204),
    )
    async def delete_subscription(
        subscription_id: str, store: FhirSubscriptionsDep, caller: Caller = Depends(own_system)
    ) -> Response:
        await store.delete(subscription_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(
        "/Subscription/{subscription_id}/$status", response_class=FhirResponse, responses=fhir_answers("Bundle", 404)
    )
    async def subscription_status(
        subscription_id: str, store: FhirSubscriptionsDep, caller: Caller = Depends(own_system)
    ) -> FhirResponse:
        return FhirResponse(status_bundle(await store.get(subscription_id), base))

    @router.get(
        "/Subscription/{subscription_id}/$events", response_class=FhirResponse, responses=fhir_answers("Bundle", 404)
    )
    async def subscription_events(
        subscription_id: str,
        store: FhirSubscriptionsDep,
        since: int = Query(1, alias="eventsSinceNumber", ge=1, le=MAX_INT64),
        until: int | None = Query(None, alias="eventsUntilNumber", ge=1, le=MAX_INT64),
        content: str | None = Query(None),
        caller: Caller = Depends(own_system),
    ) -> FhirResponse:
        """The subscription's events numbered since..until (at most 100), for a client that saw a gap."""
        if content is not None and content not in CONTENTS:
            raise FhirError(400, f"content is one of {', '.join(CONTENTS)}", parameter="content")
        sub = await store.get(subscription_id)
        events = await store.events(subscription_id, since, until, MAX_EVENTS_PER_QUERY)
        bundle = notification_bundle(sub, base, principal, "query-event", datetime.now(UTC), events, content)
        return FhirResponse(bundle)

    @router.get("/Communication/{seq}", response_class=FhirResponse, responses=fhir_answers("Communication", 404))
    async def read_communication(
        store: FhirSubscriptionsDep, seq: int = Path(ge=1, le=MAX_INT64), caller: Caller = Depends(own_system)
    ) -> FhirResponse:
        """A delivered event (the inbox row numbered `seq`) as a Communication."""
        item = await store.communication(seq)
        if item is None:
            raise FhirError(404, "no Communication with this id", code="not-found")
        return FhirResponse(communication(principal, item))

    return router


async def _resource(request: Request) -> object:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in _JSON_TYPES:
        raise FhirError(415, "a Subscription is sent as application/fhir+json", code="not-supported")
    body = await request.body()
    if len(body) > MAX_SUBSCRIPTION_BYTES:
        raise FhirError(413, f"a Subscription is at most {MAX_SUBSCRIPTION_BYTES} bytes", code="too-costly")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise FhirError(400, "the body is not JSON", code="structure") from None


def capability_statement(principal: str, now: datetime) -> dict:
    """What a gateway's FHIR endpoint offers, with the subscription topics (backport extension)."""
    topic_extension = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical"
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now.isoformat(),
        "kind": "instance",
        "software": {"name": f"Samordna gateway of {principal}"},
        "implementation": {
            "description": "Events delivered to this principal, as FHIR Subscriptions and Communications"
        },
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON],
        "instantiates": [
            "http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4"
        ],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Subscription",
                        "extension": [{"url": topic_extension, "valueCanonical": topic} for topic in topics()],
                        "interaction": [{"code": c} for c in ("read", "create", "delete", "search-type")],
                        "operation": [
                            {
                                "name": "status",
                                "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-status",
                            },
                            {
                                "name": "events",
                                "definition": "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events",
                            },
                        ],
                    },
                    {"type": "Communication", "interaction": [{"code": "read"}]},
                ],
            }
        ],
    }

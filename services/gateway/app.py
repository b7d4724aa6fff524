"""Composition root of a principal's gateway (the region's or one municipality's).

`create_app(settings, principal)` builds the HTTP app; its lifespan enters `bootstrap`
(services/gateway/bootstrap.py, or a fake one in the unit tests) and keeps the yielded deps in
`app.state.deps` for services/gateway/deps.py. How each domain error is answered is
`ANSWERS`.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway.api import build_router
from services.gateway.bootstrap import Bootstrap, bootstrap
from services.gateway.errors import (
    AmbiguousEventId,
    DeliveryNotFound,
    EventIdConflict,
    EventTooLarge,
    InsecureEndpoint,
    InvalidEvent,
    NotInInbox,
    SubscriptionNotFound,
)
from services.gateway.fhir.api import build_fhir_router
from services.gateway.settings import GatewaySettings
from services.gateway.subscriptions_api import build_subscriptions_router
from services.runtime.http import service_app
from services.runtime.problems import Answer

ANSWERS = {
    InvalidEvent: Answer(422, "invalid-event"),  # names every field that is wrong
    EventTooLarge: Answer(413, "event-too-large", field="body"),
    EventIdConflict: Answer(409, "event-id-conflict", field="id"),
    NotInInbox: Answer(404, "not-in-inbox", field="event_id"),
    AmbiguousEventId: Answer(409, "ambiguous-event-id", field="sender"),
    InsecureEndpoint: Answer(422, "invalid-request", field="url"),
    SubscriptionNotFound: Answer(404, "not-found", field="subscription_id"),
    DeliveryNotFound: Answer(404, "not-found", field="seq"),
}


def create_app(settings: GatewaySettings, principal: str, bootstrap: Bootstrap = bootstrap) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with bootstrap(settings, principal) as deps:
            app.state.deps = deps
            app.state.checks.update(deps.checks)
            yield

    app = service_app(f"Samordna gateway for {principal}", lifespan, build_router(principal), settings, ANSWERS)
    app.include_router(build_subscriptions_router(principal, settings.environment))
    app.include_router(build_fhir_router(principal, settings))
    return app

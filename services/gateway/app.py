"""Composition root of a principal's gateway (the region's or one municipality's).

`create_app(settings, principal)` builds the HTTP app; its lifespan enters `bootstrap`
(services/gateway/bootstrap.py, or a fake one in the unit tests) and keeps the yielded deps in
`app.state.deps` for services/gateway/deps.py. How each domain error is answered is
`ANSWERS`.
"""

from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.gateway.api import build_router
from services.gateway.batch import EVENT_ANSWERS
from services.gateway.bootstrap import Bootstrap, bootstrap
from services.gateway.deps import access_log, pseudonyms
from services.gateway.errors import (
    AddressRefused,
    AmbiguousEventId,
    DeliveryNotFound,
    HostNotAllowed,
    HostUnresolved,
    InsecureEndpoint,
    NotInInbox,
    SubscriptionNotFound,
)
from services.gateway.fhir.api import build_fhir_router
from services.gateway.settings import GatewaySettings
from services.gateway.subscriptions_api import build_subscriptions_router
from services.gateway.webhooks.targets import Resolver, TargetGuard, TargetPolicy, resolve
from services.runtime.access_log_api import access_log_router
from services.runtime.http import service_app
from services.runtime.openapi import install_openapi
from services.runtime.problems import Answer

ANSWERS = {
    **EVENT_ANSWERS,  # an event refused, alone or in a batch (services/gateway/batch.py)
    NotInInbox: Answer(404, "not-in-inbox", field="event_id"),
    AmbiguousEventId: Answer(409, "ambiguous-event-id", field="sender"),
    InsecureEndpoint: Answer(422, "webhook-url-insecure", field="url"),
    HostNotAllowed: Answer(422, "webhook-host-not-allowed", field="url"),
    HostUnresolved: Answer(422, "webhook-host-unresolved", field="url"),
    AddressRefused: Answer(422, "webhook-address-refused", field="url"),
    SubscriptionNotFound: Answer(404, "not-found", field="subscription_id"),
    DeliveryNotFound: Answer(404, "not-found", field="seq"),
}

MUTUAL_TLS = {
    "type": "mutualTLS",
    "description": "A client certificate (the SITHS function certificate model) from the site's client CA, "
    "its subject's serialNumber (HSA-id) mapped to a principal and role; no Authorization header.",
}


def create_app(
    settings: GatewaySettings, principal: str, bootstrap: Bootstrap = bootstrap, resolver: Resolver = resolve
) -> FastAPI:
    """`resolver` resolves webhook hosts when a subscription is made (the tests give their own DNS)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with bootstrap(settings, principal) as deps:
            app.state.deps = deps
            app.state.checks.update(deps.checks)
            yield

    app = service_app(f"Samordna gateway for {principal}", lifespan, build_router(principal), settings, ANSWERS)
    if settings.tls_client_ca_file is not None:
        install_openapi(app, {"mutualTLS": MUTUAL_TLS})
    guard = TargetGuard(TargetPolicy.from_settings(settings, principal), resolver)
    app.include_router(build_subscriptions_router(principal, guard))
    app.include_router(build_fhir_router(principal, settings, guard))
    app.include_router(access_log_router(access_log, pseudonyms))
    return app

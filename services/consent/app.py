"""Composition root of the consent service: the registry API over what `bootstrap` builds (the
gate, the audit writer, the stores), its domain errors answered as problem details."""

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from services.consent import api, fhir_api, log_extract_api
from services.consent.bootstrap import ConsentDeps, bootstrap
from services.consent.deps import access_log, pseudonyms
from services.consent.errors import ConsentNotFound, NotAParty
from services.consent.settings import ConsentSettings
from services.runtime.access_log_api import access_log_router
from services.runtime.http import service_app
from services.runtime.problems import Answer

ANSWERS = {
    ConsentNotFound: Answer(404, "not-found", field="consent_id"),
    NotAParty: Answer(403, "forbidden", field="parties"),
}

Bootstrap = Callable[[ConsentSettings], AbstractAsyncContextManager[ConsentDeps]]


def create_app(settings: ConsentSettings, bootstrap: Bootstrap = bootstrap) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with bootstrap(settings) as deps:
            app.state.deps = deps
            app.state.checks.update(deps.readiness)
            yield

    routes = APIRouter()
    routes.include_router(api.router)
    routes.include_router(fhir_api.router)
    routes.include_router(log_extract_api.router)
    routes.include_router(access_log_router(access_log, pseudonyms))
    return service_app("Samordna consent registry and gate", lifespan, routes, settings, errors=ANSWERS)

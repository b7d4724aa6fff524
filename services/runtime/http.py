"""What every service's HTTP app has: health, readiness, metrics and errors as problem details."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.runtime.auth import load_jwt_verifier, load_tokens
from services.runtime.client_certs import load_certificates
from services.runtime.metrics import metrics_router
from services.runtime.no_store import NoStore
from services.runtime.openapi import install_openapi
from services.runtime.problems import Answer, install_problem_handlers

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, bool] = Field(description="each dependency (PostgreSQL, Kafka, ...) and whether it answers")


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health)
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "a dependency does not answer"}},
    )
    async def readyz() -> JSONResponse:
        results = {name: await _passes(check) for name, check in checks.items()}
        ready = all(results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    return router


async def _passes(check: ReadinessCheck) -> bool:
    try:
        return await asyncio.wait_for(check(), timeout=3)
    except Exception as exc:  # a failing dependency makes the service unready, nothing more
        log.warning("readiness check failed", extra={"error": type(exc).__name__})
        return False


def service_app(
    title: str, lifespan, router: APIRouter, settings, errors: Mapping[type[Exception], Answer] | None = None
) -> FastAPI:
    """A service's HTTP app: its routes, /healthz, /readyz and /metrics, token and JWT auth, and
    errors as problem details (`errors` says how the service's own domain errors are answered).

    The lifespan fills `app.state.checks` with the readiness checks once its connections exist.
    """
    app = FastAPI(title=title, lifespan=lifespan)
    app.state.tokens = load_tokens(settings)
    app.state.jwt = load_jwt_verifier(settings)
    app.state.certificates = load_certificates(settings)
    app.state.checks = {}
    app.include_router(health_router(app.state.checks))
    app.include_router(metrics_router())
    app.include_router(router)
    install_problem_handlers(app, errors)
    install_openapi(app)
    app.add_middleware(NoStore)
    return app

"""What every service's HTTP app has: health, readiness and uniform JSON errors."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.runtime.auth import load_jwt_verifier, load_tokens
from services.runtime.metrics import metrics_router

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[bool]]


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @router.get("/readyz")
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


def field_errors(errors) -> list[dict]:
    """Pydantic/FastAPI errors as [{"field": "a.b", "message": ...}], without echoing input."""
    return [
        {"field": ".".join(str(part) for part in err["loc"] if part != "body"), "message": err["msg"]} for err in errors
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "invalid_request", "errors": field_errors(exc.errors())}, status_code=422)


def service_app(title: str, lifespan, router: APIRouter, settings) -> FastAPI:
    """A service's HTTP app: its routes, /healthz, /readyz and /metrics, token and JWT auth and JSON errors.

    The lifespan fills `app.state.checks` with the readiness checks once its connections exist.
    """
    app = FastAPI(title=title, lifespan=lifespan)
    app.state.tokens = load_tokens(settings)
    app.state.jwt = load_jwt_verifier(settings)
    app.state.checks = {}
    app.include_router(health_router(app.state.checks))
    app.include_router(metrics_router())
    app.include_router(router)
    install_error_handlers(app)
    return app

"""The one shape of every error a Samordna service answers: RFC 9457 problem details.

    {"type": "https://samordna.se/problems/invalid-event", "title": "Invalid event",
     "status": 422, "detail": "…", "errors": [{"field": "data.substances", "message": "…"}]}

served as `application/problem+json`. The exceptions:

    Problem                  raised by a route or the service layer; carries status, slug, detail
    ├── InvalidRequest       422: a body or a parameter is wrong (errors name the fields)
    ├── NotFound             404: nothing the caller may see has this id
    ├── Conflict             409: the request contradicts what was accepted before
    └── Forbidden            403: the caller may not do this

A service's own domain errors stay in its `errors.py` and are turned into a Problem at the edge
by `install_problem_handlers(app, {DomainError: Answer(404), ...})`; FastAPI's validation errors and
Starlette's HTTP exceptions (401 from the auth, 404/405 of the router) get the same shape.
No detail or message ever holds a personnummer: messages name fields, never echo their input.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from contracts.envelope import FieldError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://samordna.se/problems/"

# The slug of a status when nothing more specific is known.
DEFAULT_SLUGS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "too-many-requests",
    500: "internal-error",
    503: "unavailable",
}


class Problem(Exception):
    """An error answered as problem details. `slug` names the kind of problem in `type`."""

    status = 500

    def __init__(
        self,
        detail: str,
        errors: Iterable[FieldError] = (),
        *,
        slug: str | None = None,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.status = status or type(self).status
        self.slug = slug or DEFAULT_SLUGS.get(self.status, "error")
        self.headers = dict(headers or {})


class InvalidRequest(Problem):
    status = 422


class NotFound(Problem):
    status = 404


class Conflict(Problem):
    status = 409


class Forbidden(Problem):
    status = 403


@dataclass(frozen=True)
class Answer:
    """How a domain error of a service is answered: its status and, optionally, its slug and field."""

    status: int
    slug: str | None = None
    field: str | None = None  # the field the error is about, listed in errors[]


def problem_body(problem: Problem) -> dict:
    body = {
        "type": TYPE_BASE + problem.slug,
        "title": _title(problem.slug),
        "status": problem.status,
        "detail": problem.detail,
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    return body


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(
        problem_body(problem), status_code=problem.status, headers=problem.headers, media_type=PROBLEM_JSON
    )


def field_errors(errors) -> list[FieldError]:
    """Pydantic/FastAPI errors as FieldErrors ("a.b", message), without echoing the input."""
    return [
        FieldError(".".join(str(part) for part in err["loc"] if part != "body") or "body", err["msg"]) for err in errors
    ]


def install_problem_handlers(app: FastAPI, translations: Mapping[type[Exception], Answer] | None = None) -> None:
    """Answer Problems, validation errors, HTTP exceptions and the service's domain errors alike."""

    @app.exception_handler(Problem)
    async def answer_problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = field_errors(exc.errors())
        detail = "the request is not valid: " + ", ".join(sorted({e.field for e in errors}))
        return problem_response(InvalidRequest(detail, errors))

    @app.exception_handler(HTTPException)
    async def http_exception(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else DEFAULT_SLUGS.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request, headers.get("Allow", "")))
        return problem_response(Problem(detail, status=exc.status_code, headers=headers))

    for error_type, answer in (translations or {}).items():
        app.add_exception_handler(error_type, _translator(answer))


def allowed_methods(request: Request, named: str) -> list[str]:
    """Every method the path takes: those the router named (only the first route that matched
    the path: GET /x/{id} hid DELETE /x/{id}) and those of every documented operation on it."""
    methods = {m.strip().upper() for m in named.split(",") if m.strip()}
    for template, operations in request.app.openapi().get("paths", {}).items():
        if re.fullmatch(re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)), request.url.path):
            methods |= {method.upper() for method in operations}
    return sorted(methods)


def problem_of(answer: Answer, exc: Exception) -> Problem:
    """The Problem a domain error is answered with."""
    # an error that names its fields itself (`errors`: FieldErrors) is answered with all of them
    named = getattr(exc, "errors", None)
    if isinstance(named, list) and named:
        errors = named
    else:
        errors = [FieldError(answer.field, str(exc))] if answer.field else []
    return Problem(str(exc), errors, slug=answer.slug, status=answer.status)


def _translator(answer: Answer):
    async def translate(request: Request, exc: Exception) -> JSONResponse:
        return problem_response(problem_of(answer, exc))

    return translate


def _title(slug: str) -> str:
    return slug.replace("-", " ").capitalize()

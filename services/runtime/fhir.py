"""What a service's FHIR R4 routes share: the media type, errors as OperationOutcome, and the
rule that keeps a person's identifier out of URLs.

A FHIR client expects an `OperationOutcome`, not problem details, when a FHIR interaction fails.
`FhirRoute` is the route class of a FHIR router: whatever a route or its dependencies raise (a
Problem, a 401 from the auth, a validation error, a domain error the app answers) is first
answered by the app's own problem handlers, and that answer is then re-shaped into an
OperationOutcome with the same status, headers and words. So the two shapes can never disagree
on what went wrong, and no detail can say more than the problem said (never a personnummer).
"""

import json
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from services.runtime.openapi import FHIR_JSON, FHIR_MARK
from services.runtime.problems import Problem, field_errors, problem_response

FHIR_VERSION = "4.0.1"

# http://hl7.org/fhir/R4/valueset-issue-type.html, by HTTP status
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "processing",
    503: "transient",
}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def operation_outcome(
    status: int, diagnostics: str, expressions: Iterable[tuple[str, str]] = (), code: str | None = None
) -> dict:
    """An OperationOutcome: one issue per (expression, message), or one for the whole request."""
    code = code or _ISSUE_CODES.get(status, "exception")
    severity = "error" if status < 500 else "fatal"
    issues = [
        {"severity": severity, "code": code, "diagnostics": message, "expression": [expression]}
        for expression, message in expressions
    ]
    return {
        "resourceType": "OperationOutcome",
        "issue": issues or [{"severity": severity, "code": code, "diagnostics": diagnostics}],
    }


def outcome_response(status: int, outcome: dict, headers: Mapping[str, str] | None = None) -> FhirResponse:
    return FhirResponse(outcome, status_code=status, headers=dict(headers or {}))


class FhirError(Problem):
    """A FHIR interaction refused for a reason FHIR names itself (`code`, e.g. "not-supported")."""

    def __init__(self, status: int, detail: str, code: str | None = None, parameter: str | None = None) -> None:
        super().__init__(detail, status=status)
        self.code = code
        self.parameter = parameter


class FhirRoute(APIRoute):
    """The route class of a FHIR router: errors leave as OperationOutcome (see the module doc),
    and the OpenAPI document says so (services/runtime/openapi.py)."""

    def __init__(self, path: str, endpoint: Callable, **kwargs) -> None:
        kwargs["openapi_extra"] = {FHIR_MARK: True} | (kwargs.get("openapi_extra") or {})
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()

        async def fhir_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as exc:
                expressions = [(exc.parameter, exc.detail)] if exc.parameter else []
                return outcome_response(exc.status, operation_outcome(exc.status, exc.detail, expressions, exc.code))
            except Exception as exc:
                problem = await _as_problem(request, exc)
                if problem is None:
                    raise
                return _reshaped(problem)

        return fhir_handler


async def _as_problem(request: Request, exc: Exception) -> Response | None:
    """The app's own answer to `exc` (a problem-details response), or None if it has none."""
    if isinstance(exc, Problem):
        return problem_response(exc)
    if isinstance(exc, RequestValidationError):
        errors = field_errors(exc.errors())
        return problem_response(Problem("the request is not valid", errors, status=400))
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        return problem_response(Problem(detail, status=exc.status_code, headers=exc.headers))
    for kind in type(exc).__mro__:
        answer = request.app.exception_handlers.get(kind)
        if answer is not None and kind is not Exception:
            return await answer(request, exc)
    return None


def _reshaped(problem: Response) -> FhirResponse:
    body = json.loads(problem.body)
    expressions = [(e["field"], e["message"]) for e in body.get("errors", [])]
    headers = {k: v for k, v in problem.headers.items() if k.lower() not in {"content-type", "content-length"}}
    outcome = operation_outcome(problem.status_code, body.get("detail", ""), expressions)
    return outcome_response(problem.status_code, outcome, headers)


async def search_parameters(request: Request, allowed: Iterable[str]) -> dict[str, str]:
    """The parameters of a FHIR search sent as POST [type]/_search (form-encoded): each named once,
    none unknown. A search by a person's identifier is only taken this way, so that the
    personnummer stays out of URLs and every log that records one."""
    if request.url.query:
        raise FhirError(400, "search parameters go in the form-encoded body of POST _search, not in the URL")
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type != "application/x-www-form-urlencoded":
        raise FhirError(415, "POST _search takes application/x-www-form-urlencoded", code="not-supported")
    try:
        pairs = parse_qsl((await request.body()).decode(), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise FhirError(400, "the body is not form-encoded UTF-8") from None
    allowed = set(allowed)
    found: dict[str, str] = {}
    for name, value in pairs:
        if name not in allowed:
            # the unknown name is not echoed: it is the caller's input, and could be anything
            raise FhirError(400, f"unknown search parameter; supported: {', '.join(sorted(allowed))}")
        if name in found:
            raise FhirError(400, "a search parameter may be given once", parameter=name)
        found[name] = value
    return found

"""The OpenAPI document of a service, completed where FastAPI leaves it thin.

FastAPI describes the routes, their parameters, bodies and response models. What it cannot
know is added here, once for every service:

- on every operation behind `authenticated` (which depends on `documented_schemes`, so that
  FastAPI lists the security schemes: a static bearer token, a JWT from an organisation's
  identity provider), its 401, 403 and 503 answers;
- the problem details (RFC 9457, `application/problem+json`) as the schema of every error
  answer, in place of FastAPI's own validation-error shape for 422;
- the problems a route declares itself with `problems(404, 409, ...)`.
"""

from typing import Annotated

from fastapi import FastAPI, Security
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.runtime.problems import DEFAULT_SLUGS, PROBLEM_JSON, TYPE_BASE

PROBLEM_REF = "#/components/schemas/Problem"

PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details. Match on `type`; `title` and `detail` are for people.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "format": "uri", "examples": [TYPE_BASE + "invalid-request"]},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "the fields that are wrong: a dotted path into the body, or `body`",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}

# The errors of a FHIR route (services/runtime/fhir.py) are OperationOutcomes, not problem details.
FHIR_JSON = "application/fhir+json"
FHIR_MARK = "x-samordna-fhir"
OUTCOME_REF = "#/components/schemas/OperationOutcome"
OUTCOME_SCHEMA = {
    "title": "OperationOutcome",
    "description": "A FHIR R4 OperationOutcome: one issue per refused element or parameter (`expression`).",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string"},
                    "diagnostics": {"type": "string"},
                    "expression": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}

# Both are `Authorization: Bearer`; services.runtime.auth tells them apart by the token's shape.
BEARER_TOKEN = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="A static token from the site's operator; it names a principal and a role (system, coordinator, ops).",
)
JWT = HTTPBearer(
    auto_error=False,
    scheme_name="jwt",
    bearerFormat="JWT",
    description="A JWT from an organisation's identity provider named in the site's issuers file; its claims "
    "name the principal and the role (docs/operations.md#api-identities-jwt).",
)


async def documented_schemes(
    token: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER_TOKEN)],
    jwt: Annotated[HTTPAuthorizationCredentials | None, Security(JWT)],
) -> None:
    """A dependency of `authenticated` that only puts its security schemes in the document."""


_AUTH_PROBLEMS = {
    401: "no bearer token, an unknown token, or a JWT that does not verify (with WWW-Authenticate)",
    403: "a valid token of another principal or role",
    503: "the token issuer's keys cannot be fetched now (with Retry-After)",
}
_DESCRIPTIONS = {
    404: "nothing the caller may see has this id",
    409: "the request contradicts what was accepted before",
    413: "the body is too large",
    422: "a body, path or query parameter is wrong; `errors` names each field",
}


def problem_response(description: str) -> dict:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}}


def outcome_response(description: str) -> dict:
    return {"description": description, "content": {FHIR_JSON: {"schema": {"$ref": OUTCOME_REF}}}}


def fhir_resource(*resource_types: str) -> dict:
    """The schema of a FHIR resource of one of these types (its full shape is FHIR R4's)."""
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": list(resource_types)}},
        "description": "a FHIR R4 resource: http://hl7.org/fhir/R4/",
    }


def fhir_answers(resource_type: str | None, *errors: int, status: int = 200) -> dict[int | str, dict]:
    """`responses=` of a FHIR route: the resource it answers with, and an OperationOutcome for
    each error status (the auth's 401, 403 and 503 and a bad parameter's 400 are added anyway)."""
    answers: dict[int | str, dict] = {status: {"description": "no content"}}
    if resource_type is not None:
        answers[status] = {
            "description": resource_type,
            "content": {FHIR_JSON: {"schema": fhir_resource(resource_type)}},
        }
    for error in errors:
        answers[error] = outcome_response(_description(error))
    return answers


def problems(*statuses: int, **described: str) -> dict[int | str, dict]:
    """`responses=` of a route: problem details for each status (`described`: "s404": "why")."""
    answers: dict[int | str, dict] = {}
    for status in statuses:
        answers[status] = problem_response(described.get(f"s{status}") or _description(status))
    return answers


def _not_null(schema: dict) -> dict:
    """An optional parameter is left out, never null (a query string has no null): FastAPI's
    `anyOf: [X, {"type": "null"}]` for `X | None` is X."""
    choices = schema.get("anyOf")
    if choices and {"type": "null"} in choices and len(choices) == 2:
        [kept] = [c for c in choices if c != {"type": "null"}]
        return {key: value for key, value in schema.items() if key != "anyOf"} | kept
    return schema


def _description(status: int) -> str:
    return _DESCRIPTIONS.get(status) or DEFAULT_SLUGS.get(status, "error").replace("-", " ")


def install_openapi(app: FastAPI, extra_schemes: dict[str, dict] | None = None) -> None:
    """Makes `app.openapi()` the completed document (built once, on first use). `extra_schemes`
    are further ways to authenticate, each an alternative to the bearer tokens."""

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = complete(document, extra_schemes or {})
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict, extra_schemes: dict[str, dict]) -> dict:
    """The document with security, problem answers and no FastAPI validation-error schemas."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {}).update(extra_schemes)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            schemas.update(operation.pop("x-component-schemas", {}))  # named schemas a route's openapi_extra uses
            fhir = operation.pop(FHIR_MARK, False)
            error = outcome_response if fhir else problem_response
            if fhir:
                schemas["OperationOutcome"] = OUTCOME_SCHEMA
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _not_null(parameter["schema"])
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = error(_description(422))
            if "requestBody" in operation:
                responses.setdefault("400", error("the body is not JSON"))
            if fhir and operation.get("parameters"):
                responses.setdefault("400", error("a parameter is wrong; the issue's expression names it"))
            if "security" in operation:
                operation["security"] += [{name: []} for name in extra_schemes]
                for status, why in _AUTH_PROBLEMS.items():
                    responses.setdefault(str(status), error(why))
    return document

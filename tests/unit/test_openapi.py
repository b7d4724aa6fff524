"""Every service's OpenAPI document is valid OpenAPI 3.1 (openapi-spec-validator) and complete:
security, a schema for every answer, problem details for errors, one body schema per event type.
How the running services keep to it is tests/e2e/test_openapi_conformance.py (schemathesis)."""

import pytest
from openapi_spec_validator import validate

from contracts.catalogue import CATALOGUE, SenderKind, may_send
from services.board.app import create_app as board_app
from services.board.settings import BoardSettings
from services.consent.app import create_app as consent_app
from services.consent.settings import ConsentSettings
from services.gateway.app import create_app as gateway_app
from services.gateway.settings import GatewaySettings
from services.runtime.openapi import FHIR_JSON
from services.runtime.problems import PROBLEM_JSON
from tests.unit.fakes_gateway import FakeGateway

APPS = {
    "consent": lambda: consent_app(ConsentSettings()),
    "gateway-region-14": lambda: gateway_app(GatewaySettings(), "region-14"),
    "gateway-kommun-1489": lambda: gateway_app(GatewaySettings(), "kommun-1489"),
    "board": lambda: board_app(BoardSettings()),
}


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


@pytest.fixture(params=sorted(APPS), scope="module")
def document(request) -> dict:
    return APPS[request.param]().openapi()


def test_the_document_is_valid_openapi(document):
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_answer_has_a_schema_and_every_error_is_problem_details_or_a_fhir_outcome(document):
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            content = response.get("content", {})
            if status == "204":
                assert not content, name
                continue
            assert content, (name, status)
            for media_type, body in content.items():
                assert body.get("schema"), (name, status, media_type)
            if int(status) >= 400 and " /fhir/" in name:  # FHIR's own error shape
                assert list(content) == [FHIR_JSON], (name, status)
                assert content[FHIR_JSON]["schema"] == {"$ref": "#/components/schemas/OperationOutcome"}
            elif int(status) >= 400 and not name.endswith("/readyz"):
                assert list(content) == [PROBLEM_JSON], (name, status)
                assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_every_authenticated_operation_names_both_bearer_schemes_and_its_401_and_403(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerToken"] == schemes["bearerToken"] | {"type": "http", "scheme": "bearer"}
    assert schemes["jwt"] | {"bearerFormat": "JWT"} == schemes["jwt"]
    # a FHIR server's CapabilityStatement is public, as FHIR clients expect to read it first
    public = ("/healthz", "/readyz", "/fhir/metadata")
    secured = [(name, op) for name, op in operations(document) if not name.endswith(public)]
    assert secured
    for name, operation in secured:
        assert {"bearerToken": []} in operation["security"] and {"jwt": []} in operation["security"], name
        assert {"401", "403"} <= set(operation["responses"]), name


@pytest.mark.parametrize("principal", ["region-14", "kommun-1489"])
def test_posting_an_event_has_one_body_schema_per_type_the_principal_may_send(principal):
    document = gateway_app(GatewaySettings(), principal).openapi()
    operation = document["paths"]["/v1/events"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    schemas = document["components"]["schemas"]
    variants = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in body["oneOf"]]

    sendable = {
        t for t, spec in CATALOGUE.items() if spec.sender is not SenderKind.GATEWAY and may_send(spec, principal)
    }
    assert {v["properties"]["type"]["const"] for v in variants} == sendable
    assert set(body["discriminator"]["mapping"]) == sendable
    assert all(v["properties"]["data"].get("properties") for v in variants)  # the payload's own schema
    assert {"202", "409", "413", "422", "401", "403"} <= set(operation["responses"])


def test_statistics_csv_is_documented_as_csv():
    document = board_app(BoardSettings()).openapi()
    assert list(document["paths"]["/v1/statistics.csv"]["get"]["responses"]["200"]["content"]) == ["text/csv"]


async def test_a_method_the_path_does_not_take_is_answered_with_every_method_it_takes():
    async with FakeGateway().api() as api:
        one = await api.request("OPTIONS", "/v1/subscriptions/f4b1c7de-2f35-4a4c-9d4e-2f1a3f3c0a11")
        many = await api.request("PUT", "/v1/subscriptions")

    assert one.status_code == 405 and one.headers["content-type"] == PROBLEM_JSON
    assert one.headers["allow"] == "DELETE, GET"
    assert many.headers["allow"] == "GET, POST"

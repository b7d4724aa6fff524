"""Every error a service answers has one shape, RFC 9457 problem details, whatever raised it."""

import httpx
from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel

from contracts.envelope import FieldError
from services.runtime.problems import PROBLEM_JSON, Answer, NotFound, install_problem_handlers


class Missing(Exception):
    """A domain error of some service."""


class Refused(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors


class Body(BaseModel):
    name: str


def app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(
        app, {Missing: Answer(404, "not-in-inbox", field="event_id"), Refused: Answer(422, "invalid-event")}
    )

    @app.post("/things")
    async def create(body: Body, limit: int = Query(1, le=10)):
        return {}

    @app.get("/missing")
    async def missing():
        raise Missing("no delivered event has this id")

    @app.get("/refused")
    async def refused():
        raise Refused([FieldError("subject", "is wrong"), FieldError("data.unit", "Field required")])

    @app.get("/gone")
    async def gone():
        raise NotFound("no such person on your board")

    @app.get("/secret")
    async def secret():
        raise HTTPException(401, detail="unknown bearer token", headers={"WWW-Authenticate": "Bearer"})

    return app


async def call(method: str, path: str, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app()), base_url="http://svc") as client:
        return await client.request(method, path, **kwargs)


async def test_a_validation_error_names_every_field_and_the_body_is_not_echoed():
    response = await call("POST", "/things?limit=99", json={"name": 19800808})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "https://samordna.se/problems/invalid-request"
    assert (problem["title"], problem["status"]) == ("Invalid request", 422)
    assert {e["field"] for e in problem["errors"]} == {"name", "query.limit"}  # where, then what
    assert "19800808" not in response.text


async def test_a_domain_error_is_answered_with_its_status_slug_and_field():
    problem = (await call("GET", "/missing")).json()

    assert problem == {
        "type": "https://samordna.se/problems/not-in-inbox",
        "title": "Not in inbox",
        "status": 404,
        "detail": "no delivered event has this id",
        "errors": [{"field": "event_id", "message": "no delivered event has this id"}],
    }


async def test_a_domain_error_that_names_its_fields_is_answered_with_all_of_them():
    problem = (await call("GET", "/refused")).json()

    assert problem["type"].endswith("/invalid-event")
    assert [e["field"] for e in problem["errors"]] == ["subject", "data.unit"]


async def test_a_problem_raised_in_a_route_has_no_errors_member_when_no_field_is_named():
    response = await call("GET", "/gone")

    assert response.status_code == 404
    assert response.json() == {
        "type": "https://samordna.se/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "no such person on your board",
    }


async def test_an_http_exception_keeps_its_detail_and_headers():
    response = await call("GET", "/secret")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["type"].endswith("/unauthorized")
    assert response.json()["detail"] == "unknown bearer token"


async def test_the_routers_own_404_and_405_are_problems_too():
    unknown, wrong_method = await call("GET", "/nowhere"), await call("DELETE", "/things")

    assert (unknown.status_code, unknown.json()["type"]) == (404, "https://samordna.se/problems/not-found")
    assert (wrong_method.status_code, wrong_method.json()["type"]) == (
        405,
        "https://samordna.se/problems/method-not-allowed",
    )
    assert wrong_method.headers["allow"] == "POST"
    assert wrong_method.headers["content-type"] == PROBLEM_JSON

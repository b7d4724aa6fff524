"""POST /v1/events:batch over ASGI with in-memory stores: an answer per event by its index — the
same problem details as POST /v1/events for the refused ones —, idempotency per event id, and
the whole request refused only when it is no batch or too big."""

import json
from datetime import date

import httpx
import pytest

from services.gateway.batch import MAX_BATCH_BYTES, MAX_BATCH_EVENTS
from tests.support.client import event
from tests.support.personnummer import make_person_id
from tests.unit.fakes_gateway import REGION, FakeGateway

VISIT_MISSED = "se.samordna.region.visit.missed.v1"
PERSON = make_person_id(date(1984, 3, 17), 238)


async def post_batch(body, gateway: FakeGateway, token: str = "region-token") -> httpx.Response:  # noqa: S107
    async with gateway.api(token=token) as api:
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        return await api.post("/v1/events:batch", **kwargs)


async def post_one(body, gateway: FakeGateway) -> httpx.Response:
    async with gateway.api(token="region-token") as api:
        return await api.post("/v1/events", json=body)


async def test_each_event_is_answered_by_its_index_as_the_single_endpoint_would_answer_it():
    gateway = FakeGateway(principal=REGION)
    good, other = event(VISIT_MISSED, PERSON), event(VISIT_MISSED, PERSON)
    bad = event(VISIT_MISSED, PERSON) | {"time": "not a time"}
    too_big = event(VISIT_MISSED, PERSON)
    too_big["data"]["unit"] = "x" * 70_000

    response = await post_batch({"events": [good, bad, too_big, other]}, gateway)

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert [r["status"] for r in results] == [202, 422, 413, 202]
    assert results[0]["id"] == good["id"] and results[3]["id"] == other["id"]
    assert set(gateway.outbox.accepted) == {good["id"], other["id"]}
    alone = FakeGateway(principal=REGION)
    for index, body in ((1, bad), (2, too_big)):
        single = await post_one(body, alone)
        assert results[index]["problem"] == single.json()
    assert PERSON not in response.text and PERSON.replace("-", "") not in response.text


async def test_an_event_sent_again_gets_the_same_answer_and_another_body_with_its_id_a_conflict():
    gateway = FakeGateway(principal=REGION)
    first = event(VISIT_MISSED, PERSON)
    await post_one(first, gateway)
    changed = first | {"source": "/test/another-system"}

    response = await post_batch({"events": [first, changed, first]}, gateway)

    results = response.json()["results"]
    assert [r["status"] for r in results] == [202, 409, 202]
    assert results[0]["accepted_at"] == results[2]["accepted_at"]
    assert results[1]["problem"]["type"] == "https://samordna.se/problems/event-id-conflict"
    assert results[1]["problem"]["errors"] == [{"field": "id", "message": results[1]["problem"]["detail"]}]
    assert len(gateway.outbox.accepted) == 1


async def test_more_events_than_the_limit_is_413_naming_events_and_nothing_is_stored():
    gateway = FakeGateway(principal=REGION)
    events = [event(VISIT_MISSED, PERSON) for _ in range(MAX_BATCH_EVENTS + 1)]

    response = await post_batch({"events": events}, gateway)

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "https://samordna.se/problems/batch-too-large"
    assert [e["field"] for e in response.json()["errors"]] == ["events"]
    assert gateway.outbox.accepted == {}


async def test_a_body_over_the_byte_limit_is_413_naming_the_body():
    gateway = FakeGateway(principal=REGION)
    body = json.dumps({"events": [event(VISIT_MISSED, PERSON)], "pad": "x" * MAX_BATCH_BYTES}).encode()

    response = await post_batch(body, gateway)

    assert response.status_code == 413
    assert [e["field"] for e in response.json()["errors"]] == ["body"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"events": {}}', b'{"events": []}', b'{"events": [], "more": 1}', b'{"events": [NaN]}'],
)
async def test_what_is_no_batch_is_422_naming_events(body):
    gateway = FakeGateway(principal=REGION)

    response = await post_batch(body, gateway)

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "https://samordna.se/problems/invalid-batch"
    assert [e["field"] for e in response.json()["errors"]] == ["events"]


async def test_an_item_that_is_no_object_refuses_the_batch_naming_it_and_nothing_is_stored():
    gateway = FakeGateway(principal=REGION)

    response = await post_batch({"events": [event(VISIT_MISSED, PERSON), 17]}, gateway)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["events.1"]
    assert gateway.outbox.accepted == {}


async def test_only_the_principals_own_systems_may_post_a_batch():
    gateway = FakeGateway(principal=REGION)
    batch = {"events": [event(VISIT_MISSED, PERSON)]}

    assert (await post_batch(batch, gateway, token="system-token")).status_code == 403  # another principal
    assert (await post_batch(batch, gateway, token="region-coordinator-token")).status_code == 403
    assert (await post_batch(batch, gateway, token="nope")).status_code == 401
    assert gateway.outbox.accepted == {}

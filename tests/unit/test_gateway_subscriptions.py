"""Webhook subscriptions over ASGI with in-memory stores: what is refused before anything is
stored, what is never shown again, and which ids name nothing."""

import pytest

from contracts.text import MAX_INT64
from tests.support.events import problem_fields as fields
from tests.unit.fakes_gateway import FakeGateway

VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SECRET = "webhook-secret-for-the-tests-0123"
BODY = {"url": "http://127.0.0.1:9/hooks", "secret": SECRET}


async def test_an_unknown_event_type_is_named_by_its_index():
    body = BODY | {"event_types": ["se.samordna.nothing.v1"]}

    async with FakeGateway().api() as api:
        response = await api.post("/v1/subscriptions", json=body)

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["event_types.0"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "ftp://127.0.0.1/hooks"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"url": "http://127.0.0.1:9/a\x00"}, "url"),
        ({"url": "http://127.0.0.1:9/19121212-1212"}, "url"),
        ({"secret": "too-short"}, "secret"),
        ({"event_types": [VISIT_MISSED, "se.samordna.region.visit.vanished.v1"]}, "event_types.1"),
        ({"from_seq": -1}, "from_seq"),
        ({"from_seq": MAX_INT64 + 1}, "from_seq"),
        ({"extra": 1}, "extra"),
    ],
)
async def test_an_invalid_subscription_gets_422_naming_the_field(change, field):
    gateway = FakeGateway()

    async with gateway.api() as api:
        response = await api.post("/v1/subscriptions", json=BODY | change)

    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("/invalid-request")
    assert fields(response) == {field}
    assert SECRET not in response.text and "19121212-1212" not in response.text
    assert gateway.subscriptions.subscriptions == {}


async def test_the_secret_is_never_shown_again_and_repeated_types_count_once():
    async with FakeGateway().api() as api:
        created = await api.post("/v1/subscriptions", json=BODY | {"event_types": [VISIT_MISSED, VISIT_MISSED]})
        sub = created.json()
        listed = (await api.get("/v1/subscriptions")).json()["subscriptions"]
        one = (await api.get(f"/v1/subscriptions/{sub['id']}")).json()

    assert created.status_code == 201
    assert set(sub) == {"id", "url", "event_types", "created_at"}
    assert sub["url"] == BODY["url"] and sub["event_types"] == [VISIT_MISSED]
    assert [s["id"] for s in listed] == [sub["id"]]
    assert one["counts"] == {"pending": 0, "delivered": 0, "parked": 0}
    assert SECRET not in created.text + str(listed) + str(one)


async def test_deliveries_are_listed_and_resent():
    gateway = FakeGateway()
    async with gateway.api() as api:
        sub = (await api.post("/v1/subscriptions", json=BODY)).json()
        rows = gateway.subscriptions.deliveries[next(iter(gateway.subscriptions.deliveries))]
        rows += [
            {"seq": seq, "event_id": f"e{seq}", "event_type": VISIT_MISSED, "status": "parked", "attempts": 9,
             "last_error": "HTTP 503", "next_attempt_at": None, "delivered_at": None}
            for seq in (1, 2)
        ]  # fmt: skip
        parked = (await api.get(f"/v1/subscriptions/{sub['id']}/deliveries", params={"status": "parked"})).json()
        resent = await api.post(f"/v1/subscriptions/{sub['id']}/deliveries/1/resend")
        rest = await api.post(f"/v1/subscriptions/{sub['id']}/resend-parked")

    assert [d["seq"] for d in parked["deliveries"]] == [1, 2] and parked["next_cursor"] == "2"
    assert (resent.json()["status"], resent.json()["attempts"], resent.json()["last_error"]) == ("pending", 0, None)
    assert rest.json() == {"resent": 1}


async def test_unknown_ids_get_404_naming_what_is_unknown():
    unknown = "/v1/subscriptions/6f1d3c2e-0000-4000-8000-000000000000"
    async with FakeGateway().api() as api:
        sub = (await api.post("/v1/subscriptions", json=BODY)).json()
        answers = {
            (method, path): await api.request(method, path)
            for method, path in [
                ("GET", unknown),
                ("GET", "/v1/subscriptions/not-a-uuid"),
                ("DELETE", unknown),
                ("GET", unknown + "/deliveries"),
                ("POST", unknown + "/deliveries/1/resend"),
                ("POST", unknown + "/resend-parked"),
                ("POST", f"/v1/subscriptions/{sub['id']}/deliveries/999999999/resend"),
            ]
        }
        deleted = await api.delete(f"/v1/subscriptions/{sub['id']}")
        gone = await api.get(f"/v1/subscriptions/{sub['id']}")

    for (method, path), response in answers.items():
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["type"] == "https://samordna.se/problems/not-found"
    no_delivery = answers[("POST", f"/v1/subscriptions/{sub['id']}/deliveries/999999999/resend")].json()
    assert no_delivery["errors"] == [{"field": "seq", "message": "the subscription has no such delivery"}]
    assert answers[("GET", unknown)].json()["errors"] == [
        {"field": "subscription_id", "message": "no subscription has this id"}
    ]
    assert deleted.status_code == 204 and gone.status_code == 404


@pytest.mark.parametrize("token", ["region-token", "coordinator-token"])
async def test_another_principal_or_a_coordinator_gets_403(token):
    gateway = FakeGateway()
    async with gateway.api() as own:
        sub = (await own.post("/v1/subscriptions", json=BODY)).json()
    async with gateway.api(token=token) as api:
        answers = [
            await api.get("/v1/subscriptions"),
            await api.post("/v1/subscriptions", json=BODY),
            await api.delete(f"/v1/subscriptions/{sub['id']}"),
        ]

    assert [r.status_code for r in answers] == [403, 403, 403]
    assert len(gateway.subscriptions.subscriptions) == 1

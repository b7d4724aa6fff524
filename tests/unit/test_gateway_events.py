"""POST /v1/events over ASGI with in-memory stores: what a partner's system sees when it sends
something wrong, or is not who it claims; and an accepted event, stored once."""

import json
import uuid
from datetime import date

import httpx
import pytest

from contracts import MAX_EVENT_BYTES
from contracts.examples import EXAMPLE_DATA
from tests.support.client import event
from tests.support.events import problem_fields as fields
from tests.support.personnummer import make_person_id
from tests.unit.fakes_gateway import ALINGSAS, REGION, FakeGateway

VISIT_MISSED = "se.samordna.region.visit.missed.v1"
TREATMENT_STARTED = "se.samordna.region.treatment.started.v1"
PERSON = make_person_id(date(1984, 3, 17), 238)


def with_data(event_type: str, **changes) -> dict:
    return dict(EXAMPLE_DATA[event_type], **changes)


async def post(body: dict | bytes, token: str = "region-token", gateway: FakeGateway | None = None) -> httpx.Response:  # noqa: S107
    gateway = gateway or FakeGateway(principal=REGION)
    async with gateway.api(token=token) as api:
        kwargs = {"content": body} if isinstance(body, bytes) else {"json": body}
        return await api.post("/v1/events", **kwargs)


async def test_an_accepted_event_is_stored_once_in_the_outbox_and_wakes_the_relay():
    gateway = FakeGateway(principal=REGION)
    body = event(VISIT_MISSED, PERSON)

    first = await post(body, gateway=gateway)
    again = await post(body, gateway=gateway)

    assert first.status_code == again.status_code == 202, first.text
    assert first.json() == again.json() and first.json()["id"] == body["id"]
    [(_, _, stored)] = gateway.outbox.accepted.values()
    assert (stored.principal, stored.category) == (REGION, "attendance")
    assert gateway.outbox.notified == 1


async def test_the_same_id_with_another_body_is_a_conflict():
    gateway = FakeGateway(principal=REGION)
    body = event(VISIT_MISSED, PERSON)
    await post(body, gateway=gateway)

    response = await post(body | {"source": "/test/another-system"}, gateway=gateway)

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    message = f"event {body['id']} was accepted before with a different body"
    assert response.json() == {
        "type": "https://samordna.se/problems/event-id-conflict",
        "title": "Event id conflict",
        "status": 409,
        "detail": message,
        "errors": [{"field": "id", "message": message}],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "19121212-1213"}, "subject"),
        ({"type": "se.samordna.region.visit.vanished.v1"}, "type"),
        ({"type": "se.samordna.region.visit.missed.v9"}, "type"),
        ({"time": "2026-11-01T10:00:00"}, "time"),
        ({"specversion": "0.3"}, "specversion"),
        ({"category": "treatment"}, "category"),
        ({"principal": ALINGSAS}, "principal"),
        ({"type": "se.samordna.municipality.intervention.missed.v1"}, "type"),
    ],
)
async def test_a_malformed_event_gets_422_naming_the_field(change, field):
    response = await post({**event(VISIT_MISSED, PERSON), **change})

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "https://samordna.se/problems/invalid-event"
    assert field in fields(response)


async def test_a_payload_error_names_the_field_inside_data():
    body = event(VISIT_MISSED, PERSON)
    body["data"] = {k: v for k, v in body["data"].items() if k != "unit"}

    response = await post(body)

    assert response.status_code == 422
    assert "data.unit" in fields(response)


async def test_several_errors_are_all_named_and_the_detail_lists_them():
    response = await post({**event(VISIT_MISSED, PERSON), "specversion": "0.3", "time": "not a time"})

    body = response.json()
    assert fields(response) >= {"specversion", "time"}
    assert body["detail"] == "; ".join(f"{e['field']}: {e['message']}" for e in body["errors"])


async def test_an_error_never_echoes_the_personnummer():
    response = await post({**event(VISIT_MISSED, PERSON), "time": "not a time"})

    assert response.status_code == 422
    assert PERSON not in response.text and PERSON.replace("-", "") not in response.text


async def test_a_body_that_is_not_json_gets_422_naming_the_body():
    response = await post(b"{not json")

    assert response.status_code == 422
    assert fields(response) == {"body"}


async def test_an_oversized_event_gets_413_saying_the_limit():
    body = event(VISIT_MISSED, PERSON)
    body["data"]["unit"] = "x" * 70_000
    raw = json.dumps(body).encode()

    response = await post(raw)

    assert response.status_code == 413
    message = f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES}"
    assert response.json() == {
        "type": "https://samordna.se/problems/event-too-large",
        "title": "Event too large",
        "status": 413,
        "detail": message,
        "errors": [{"field": "body", "message": message}],
    }


@pytest.mark.parametrize("token", [None, "nope"])
async def test_no_token_or_an_unknown_token_gets_401(token):
    assert (await post(event(VISIT_MISSED, PERSON), token=token)).status_code == 401


async def test_another_principals_token_gets_403_for_events_and_the_inbox():
    async with FakeGateway(principal=REGION).api(token="system-token") as api:
        posted = await api.post("/v1/events", json=event(VISIT_MISSED, PERSON))
        inbox = await api.get("/v1/inbox")

    assert posted.status_code == inbox.status_code == 403


async def test_its_own_coordinator_posts_through_the_same_outbox_and_the_source_names_workspace_and_user():
    gateway = FakeGateway(principal=REGION)
    body = event(VISIT_MISSED, PERSON) | {"source": "/journal/claims-to-be-a-system"}

    response = await post(body, token="region-coordinator-token", gateway=gateway)

    assert response.status_code == 202, response.text
    [(_, _, stored)] = gateway.outbox.accepted.values()
    assert stored.source == "samordna-arbetsyta/SE2321000014-E00000000001"
    assert gateway.outbox.notified == 1


async def test_a_coordinators_event_is_validated_like_a_systems_and_another_principals_coordinator_is_refused():
    gateway = FakeGateway(principal=REGION)
    wrong = event(VISIT_MISSED, PERSON, data=with_data(VISIT_MISSED, planned_at="igår"))

    invalid = await post(wrong, token="region-coordinator-token", gateway=gateway)
    async with FakeGateway(principal=REGION).api(token="coordinator-token") as api:
        foreign = await api.post("/v1/events", json=event(VISIT_MISSED, PERSON))

    assert invalid.status_code == 422 and "data.planned_at" in fields(invalid)
    assert foreign.status_code == 403
    assert gateway.outbox.accepted == {}


# --- poison values --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event_type", "change", "field"),
    [
        (VISIT_MISSED, {"data": with_data(VISIT_MISSED, unit="a\x00b")}, "data.unit"),
        (VISIT_MISSED, {"data": with_data(VISIT_MISSED, unit="a\ud800b")}, "data.unit"),
        (VISIT_MISSED, {"time": "0001-01-01T00:00:00+00:00"}, "time"),
        (VISIT_MISSED, {"time": "2999-01-01T00:00:00+00:00"}, "time"),
        (TREATMENT_STARTED, {"data": with_data(TREATMENT_STARTED, started_on="9999-12-31")}, "data.started_on"),
    ],
)
async def test_a_poison_value_in_an_event_gets_422_naming_the_field(event_type, change, field):
    raw = json.dumps(event(event_type, PERSON) | change).encode()  # \u0000 and \ud800 as JSON escapes

    response = await post(raw)

    assert response.status_code == 422, response.text
    assert fields(response) == {field}


def spellings(number: str) -> list[str]:
    digits = number.replace("-", "")
    return [
        number,
        digits,
        number[2:],
        number.replace("-", " "),
        number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        digits.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
    ]


@pytest.mark.parametrize("spelling", range(6))
async def test_an_event_whose_id_holds_the_personnummer_gets_422_without_the_number(spelling):
    written = spellings(PERSON)[spelling]
    body = event(VISIT_MISSED, PERSON, id=f"journal-{written}-{uuid.uuid4().hex[:8]}")

    response = await post(body)

    assert response.status_code == 422, response.text
    assert fields(response) == {"id"}
    digits = PERSON.replace("-", "")
    assert digits not in response.text and PERSON[2:] not in response.text and PERSON not in response.text


async def test_a_personnummer_in_the_source_or_a_payload_string_gets_422():
    source = await post(event(VISIT_MISSED, PERSON, source=f"/journal/{PERSON}"))
    text = await post(event(VISIT_MISSED, PERSON, data=with_data(VISIT_MISSED, visit_kind=f"besök {PERSON[2:]}")))

    assert (source.status_code, fields(source)) == (422, {"source"})
    assert (text.status_code, fields(text)) == (422, {"data.visit_kind"})
    assert PERSON not in source.text + text.text


async def test_an_ordinary_number_in_text_is_still_accepted():
    ordinary = make_person_id(date(1980, 8, 8), 555).replace("-", "")[:-1] + "1"  # 19800808555x, wrong check
    body = event(VISIT_MISSED, PERSON, data=with_data(VISIT_MISSED, visit_kind=f"remiss {ordinary}"))

    assert (await post(body)).status_code == 202

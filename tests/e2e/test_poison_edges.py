"""Poison inputs, as a partner's system or a coordinator might send them, over the running stack:
each is refused with 422 naming the field (never 500, never echoing a personnummer), and what
comes after still flows."""

import json
import uuid
from datetime import date

import httpx
import pytest

from contracts.examples import EXAMPLE_DATA
from contracts.text import MAX_INT64
from contracts.topics import events_topic
from tests.support.client import event, eventually
from tests.support.kafka import dead_letters_from, produce
from tests.support.personnummer import make_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
TREATMENT_STARTED = "se.samordna.region.treatment.started.v1"
TOO_BIG = str(MAX_INT64 + 1)  # 9223372036854775808


def fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json()["errors"]}


def with_data(event_type: str, **changes) -> dict:
    return dict(EXAMPLE_DATA[event_type], **changes)


# --- events at the HTTP edge --------------------------------------------------------------
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
async def test_a_poison_value_in_an_event_gets_422_naming_the_field(client, person, event_type, change, field):
    body = event(event_type, person) | change
    raw = json.dumps(body).encode()  # \u0000 and \ud800 as JSON escapes, as a partner's system sends them

    response = await client.post_event(REGION, raw)

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
async def test_an_event_whose_id_holds_the_personnummer_gets_422_and_the_number_is_not_in_the_answer(
    client, person, spelling
):
    written = spellings(person)[spelling]
    body = event(VISIT_MISSED, person, id=f"journal-{written}-{uuid.uuid4().hex[:8]}")

    response = await client.post_event(REGION, body)

    assert response.status_code == 422, response.text
    assert fields(response) == {"id"}
    digits = person.replace("-", "")
    assert digits not in response.text and person[2:] not in response.text and person not in response.text


async def test_a_personnummer_in_the_source_or_a_payload_string_gets_422(client, person):
    source = await client.post_event(REGION, event(VISIT_MISSED, person, source=f"/journal/{person}"))
    text = await client.post_event(
        REGION, event(VISIT_MISSED, person, data=with_data(VISIT_MISSED, visit_kind=f"besök {person[2:]}"))
    )

    assert (source.status_code, fields(source)) == (422, {"source"})
    assert (text.status_code, fields(text)) == (422, {"data.visit_kind"})
    assert person not in source.text + text.text


async def test_an_ordinary_number_in_text_is_still_accepted(client, person):
    ordinary = make_person_id(date(1980, 8, 8), 555).replace("-", "")[:-1] + "1"  # 19800808555x, wrong check
    body = event(VISIT_MISSED, person, data=with_data(VISIT_MISSED, visit_kind=f"remiss {ordinary}"))

    response = await client.post_event(REGION, body)

    assert response.status_code == 202, response.text


# --- the same on Kafka: the gate dead-letters, and goes on --------------------------------
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"data": with_data(VISIT_MISSED, unit="a\x00b")}, "data.unit"),
        ({"time": "0001-01-01T00:00:00+00:00"}, "time"),
        ({"id": "journal-{person}"}, "id"),
    ],
)
async def test_a_poison_event_on_kafka_is_dead_lettered_by_the_gate_and_the_next_one_crosses(
    client, running_stack, person, change, field
):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    poison = event(VISIT_MISSED, person, principal=REGION, category="attendance") | change
    poison["id"] = poison["id"].format(person=person)
    marker = uuid.uuid4().hex
    poison["source"] = f"/test/{marker}"
    await produce(running_stack.kafka_options(REGION), events_topic(REGION), json.dumps(poison).encode())
    after = event(VISIT_MISSED, person)

    assert (await client.post_event(REGION, after)).status_code == 202

    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: after["id"] in ids)
    assert after["id"] in inbox and poison["id"] not in inbox
    [letter] = await dead_letters_from(running_stack.kafka_options(), events_topic(REGION), marker)
    assert letter["consumer"] == "gate"
    assert field in letter["reason"]
    assert person not in letter["reason"] and person.replace("-", "") not in letter["reason"]


# --- integer parameters outside 64 bits -----------------------------------------------------
@pytest.fixture
async def subscription(client):
    headers = {"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['system']}"}
    url = client.url(ALINGSAS, "/v1/subscriptions")
    created = await client.http.post(url, json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 24}, headers=headers)
    assert created.status_code == 201, created.text
    yield created.json()["id"]
    await client.http.delete(f"{url}/{created.json()['id']}", headers=headers)


@pytest.mark.parametrize("value", [TOO_BIG, str(2**64), "-1"])
@pytest.mark.parametrize(
    ("method", "path", "param"),
    [
        ("GET", "/v1/inbox?after={value}", "query.after"),
        ("GET", "/v1/dead-letters?after={value}", "query.after"),
        ("GET", "/v1/subscriptions/{sub}/deliveries?after={value}", "query.after"),
        ("POST", "/v1/subscriptions/{sub}/deliveries/{value}/resend", "path.seq"),
    ],
)
async def test_an_integer_outside_64_bits_gets_422_not_500(client, subscription, method, path, param, value):
    headers = {"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['system']}"}
    url = client.url(ALINGSAS, path.format(sub=subscription, value=value))

    response = await client.http.request(method, url, headers=headers)

    assert response.status_code == 422, response.text
    assert fields(response) == {param}


async def test_the_largest_64_bit_cursor_is_an_empty_page(client):
    page = await client.inbox(ALINGSAS, after=MAX_INT64)

    assert page == {"events": [], "next_cursor": str(MAX_INT64)}


async def test_a_subscription_from_beyond_64_bits_or_with_nul_gets_422(client, person):
    headers = {"Authorization": f"Bearer {client.info['tokens'][ALINGSAS]['system']}"}
    url = client.url(ALINGSAS, "/v1/subscriptions")
    base = {"url": "http://127.0.0.1:9/hook", "secret": "s" * 24}

    too_far = await client.http.post(url, json=base | {"from_seq": MAX_INT64 + 1}, headers=headers)
    nul = await client.http.post(url, json=base | {"url": "http://127.0.0.1:9/a\x00"}, headers=headers)
    number = await client.http.post(url, json=base | {"url": f"http://127.0.0.1:9/{person}"}, headers=headers)

    assert [(r.status_code, fields(r)) for r in (too_far, nul, number)] == [
        (422, {"from_seq"}),
        (422, {"url"}),
        (422, {"url"}),
    ]
    assert person not in number.text


async def test_an_acknowledgement_of_an_unprintable_id_or_with_a_personnummer_gets_422(client, person):
    unprintable = await client.ack(ALINGSAS, "a%00b")  # NUL, as the URL carries it
    with_number = await client.ack(ALINGSAS, str(uuid.uuid4()), {"unit": f"avd {person}"})

    assert (unprintable.status_code, fields(unprintable)) == (422, {"path.event_id"})
    assert (with_number.status_code, fields(with_number)) == (422, {"unit"})
    assert person not in with_number.text


# --- consents ---------------------------------------------------------------------------------
async def consent_call(client, path: str, person: str, **changes) -> httpx.Response:
    body = {"person": person, "parties": [REGION, ALINGSAS], "valid_from": date.today().isoformat()}
    return await client.http.post(
        client.url("consent", path),
        json=body | {"form": "written"} | changes,
        headers={"Authorization": f"Bearer {client.info['tokens'][REGION]['coordinator']}"},
    )


@pytest.mark.parametrize("path", ["/v1/consents/preview", "/v1/consents"])
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_from": "9999-12-31"}, "valid_from"),
        ({"valid_from": "9999-12-31T23:59:59+00:00"}, "valid_from"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"recorded_by": "HSA\x00"}, "recorded_by"),
    ],
)
async def test_a_consent_or_preview_with_an_extreme_date_or_nul_gets_422(client, person, path, changes, field):
    response = await consent_call(client, path, person, **changes)

    assert response.status_code == 422, response.text
    assert fields(response) == {field}


async def test_a_consent_recorded_by_a_personnummer_gets_422_without_echoing_it(client, person):
    response = await consent_call(client, "/v1/consents", person, recorded_by=person.replace("-", " "))

    assert response.status_code == 422, response.text
    assert fields(response) == {"recorded_by"}
    assert person.replace("-", " ") not in response.text

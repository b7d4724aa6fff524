"""FHIR Subscriptions (the R5 backport for R4) on a running gateway: the handshake, event
notifications through the webhooks' queue with the subscription's own gapless numbers,
heartbeats, $status and $events — every bundle read strictly by two FHIR model libraries, on
the real gate and broker."""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhirclient.models.bundle import Bundle as StrictBundle

from contracts.fhir import TOPIC_CATEGORY
from contracts.webhooks import verify
from tests.support.client import StackClient, event, eventually
from tests.support.loopback import LoopbackServer

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
SECRET = "fhir-subscription-secret-0123456"


@dataclass
class Notification:
    headers: dict[str, str]
    body: bytes

    @property
    def bundle(self) -> dict:
        return json.loads(self.body)

    @property
    def status(self) -> dict[str, object]:
        parameters = self.bundle["entry"][0]["resource"]["parameter"]
        return {p["name"]: next(v for k, v in p.items() if k != "name") for p in parameters}

    @property
    def kind(self) -> str:
        return self.status["type"]


@dataclass
class Endpoint:
    """A partner's rest-hook endpoint on 127.0.0.1; `answer(kind, nth)` is the status for the nth
    notification of that kind (1, 2, ...)."""

    answer: Callable[[str, int], int] = lambda kind, nth: 200
    received: list[Notification] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)

    def start(self) -> "Endpoint":
        self.server = LoopbackServer(self._take)
        return self

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        note = Notification(headers, body)
        status = self.answer(note.kind, len(self.of_kind(note.kind)) + 1)
        self.received.append(note)
        self.answered.append(status)
        return status

    @property
    def url(self) -> str:
        return self.server.url("/fhir-notify")

    def of_kind(self, kind: str) -> list[Notification]:
        return [n for n in self.received if n.kind == kind]


def strictly_valid(bundle: dict) -> Bundle:
    StrictBundle(bundle, strict=True)
    return Bundle.model_validate(bundle)


async def fhir(client: StackClient, method: str, path: str, **kw):
    headers = client._auth(ALINGSAS, "system") | kw.pop("headers", {})
    return await client.http.request(method, client.url(ALINGSAS, "/fhir" + path), headers=headers, **kw)


@pytest.fixture
async def endpoint():
    started = Endpoint().start()
    yield started
    started.server.stop()


async def subscribe(client: StackClient, endpoint: Endpoint, topic: str, heartbeat: int | None = None) -> dict:
    channel = {
        "type": "rest-hook",
        "endpoint": endpoint.url,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": BACKPORT + "backport-payload-content", "valueCode": "full-resource"}]},
        "header": ["Authorization: Bearer token-of-the-receiver"],
    }
    if heartbeat:
        channel["extension"] = [{"url": BACKPORT + "backport-heartbeat-period", "valueUnsignedInt": heartbeat}]
    resource = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "the journal system of Alingsås",
        "criteria": topic,
        "channel": channel,
        "extension": [{"url": "https://samordna.se/fhir/StructureDefinition/webhook-secret", "valueString": SECRET}],
    }
    response = await fhir(
        client, "POST", "/Subscription", content=json.dumps(resource), headers={"Content-Type": "application/fhir+json"}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_subscription_is_handshaken_then_notified_of_its_topic_s_events_in_number_order(
    client, endpoint, person
):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    sub = await subscribe(client, endpoint, TOPIC_CATEGORY + "attendance")
    [handshake] = await eventually(lambda: _now(endpoint.of_kind("handshake")), bool)
    active = await eventually(
        lambda: fhir(client, "GET", f"/Subscription/{sub['id']}"), lambda r: r.json()["status"] == "active"
    )

    visits = [event(VISIT_MISSED, person) for _ in range(3)]
    sample = event(SAMPLE_POSITIVE, person)  # test results: not this topic
    for body in (visits[0], sample, visits[1], visits[2]):
        assert (await client.post_event(REGION, body)).status_code == 202
    notes = await eventually(lambda: _now(endpoint.of_kind("event-notification")), lambda n: len(n) >= 3)

    strictly_valid(handshake.bundle)
    assert verify(SECRET, handshake.headers, handshake.body)
    assert active.json()["status"] == "active"
    assert len(notes) == 3
    for nth, note in enumerate(notes, start=1):
        strictly_valid(note.bundle)
        assert verify(SECRET, note.headers, note.body)
        assert note.headers["Authorization"] == "Bearer token-of-the-receiver"
        assert note.headers["Content-Type"] == "application/fhir+json"
        assert note.status["events-since-subscription-start"] == str(nth)
        communication = note.bundle["entry"][1]["resource"]
        carried = json.loads(base64.b64decode(communication["payload"][0]["contentAttachment"]["data"]))
        assert carried["id"] == visits[nth - 1]["id"]
        assert communication["subject"]["identifier"]["value"] == carried["subject"]
    status = (await fhir(client, "GET", f"/Subscription/{sub['id']}/$status")).json()
    strictly_valid(status)
    assert {"name": "events-since-subscription-start", "valueString": "3"} in status["entry"][0]["resource"][
        "parameter"
    ]
    caught_up = (
        await fhir(client, "GET", f"/Subscription/{sub['id']}/$events", params={"eventsSinceNumber": 2})
    ).json()
    strictly_valid(caught_up)
    focus = [
        json.loads(base64.b64decode(e["resource"]["payload"][0]["contentAttachment"]["data"]))["id"]
        for e in caught_up["entry"][1:]
    ]
    assert focus == [visits[1]["id"], visits[2]["id"]]
    seq = notes[0].bundle["entry"][1]["resource"]["id"]
    read = await fhir(client, "GET", f"/Communication/{seq}")
    assert read.status_code == 200 and read.json() == notes[0].bundle["entry"][1]["resource"]
    assert (await fhir(client, "DELETE", f"/Subscription/{sub['id']}")).status_code == 204


async def test_an_idle_active_subscription_gets_heartbeats(client, endpoint):
    sub = await subscribe(client, endpoint, TOPIC_CATEGORY + "care_transitions", heartbeat=1)

    beats = await eventually(lambda: _now(endpoint.of_kind("heartbeat")), lambda b: len(b) >= 2)

    assert len(beats) >= 2
    for beat in beats:
        strictly_valid(beat.bundle)
        assert beat.status["subscription"]["reference"].endswith(f"/fhir/Subscription/{sub['id']}")
    await fhir(client, "DELETE", f"/Subscription/{sub['id']}")


async def test_a_failed_handshake_and_failed_notifications_are_retried_through_the_webhook_queue(client, person):
    failing = Endpoint(answer=lambda kind, nth: 503 if nth <= 2 else 200).start()
    try:
        await client.grant(REGION, person, [REGION, ALINGSAS])
        sub = await subscribe(client, failing, TOPIC_CATEGORY + "attendance")
        seen_error = await eventually(
            lambda: fhir(client, "GET", f"/Subscription/{sub['id']}"), lambda r: r.json()["status"] == "error"
        )
        await eventually(
            lambda: fhir(client, "GET", f"/Subscription/{sub['id']}"), lambda r: r.json()["status"] == "active"
        )
        body = event(VISIT_MISSED, person)
        assert (await client.post_event(REGION, body)).status_code == 202
        notes = await eventually(lambda: _now(failing.of_kind("event-notification")), lambda n: len(n) >= 3)

        assert seen_error.json()["error"] == "handshake failed: HTTP 503"
        assert [n.kind for n in failing.received[:3]] == ["handshake"] * 3
        assert len(notes) == 3 and len({n.bundle["id"] for n in notes}) == 1  # the same bundle, retried
        assert all(n.status["events-since-subscription-start"] == "1" for n in notes)
        deliveries = await eventually(
            lambda: client.http.get(
                client.url(ALINGSAS, f"/v1/subscriptions/{sub['id']}/deliveries"),
                headers=client._auth(ALINGSAS, "system"),
            ),
            lambda r: r.json()["deliveries"] and r.json()["deliveries"][0]["status"] == "delivered",
        )
        assert deliveries.json()["deliveries"][0]["attempts"] == 3
        await fhir(client, "DELETE", f"/Subscription/{sub['id']}")
    finally:
        failing.server.stop()


async def _now(value):
    return value

"""Webhooks: a municipality's gateway pushes its inbox to endpoints its systems subscribe.

What is refused before anything is stored (422, 403, 404) and what is never shown (the secret)
are unit tests over ASGI (tests/unit/test_gateway_subscriptions.py). Here the endpoints are
real HTTP servers on 127.0.0.1, each in its own thread, and the events cross the real gate on
Kafka. The test stack's retry timings (tests/conftest.py) are short: the
first retry after 0.1 s, at most 0.5 s apart, parked after 10.8 s of failures.
"""

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from contracts.webhooks import verify
from tests.support.client import StackClient, event, eventually
from tests.support.loopback import LoopbackServer

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
SECRET = "webhook-secret-for-the-tests-0123"
PARKING = 60  # seconds to wait for a delivery to be parked: the window is 10.8 s


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event_id(self) -> str:
        return self.headers["Samordna-Event-Id"]


@dataclass
class Receiver:
    """A partner's webhook endpoint. `answer(event_id, nth)` gives the status for the nth request
    (1, 2, …) carrying that event; with `hang`, every request waits until `release` is set."""

    answer: Callable[[str, int], int] = lambda event_id, nth: 200
    hang: bool = False
    requests: list[Request] = field(default_factory=list)
    hanging: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> "Receiver":
        self.server = LoopbackServer(self._take)
        return self

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if self.hang:
            with self.lock:
                self.hanging += 1
            self.release.wait(120)
            with self.lock:
                self.hanging -= 1
        event_id = headers["Samordna-Event-Id"]
        status = self.answer(event_id, len(self.of(event_id)) + 1)
        self.requests.append(Request(headers, body, status))
        return status

    @property
    def url(self) -> str:
        return self.server.url("/hooks/samordna")

    def of(self, event_id: str) -> list[Request]:
        return [r for r in self.requests if r.event_id == event_id]

    def delivered(self, event_id: str) -> list[Request]:
        return [r for r in self.of(event_id) if 200 <= r.status < 300]

    def stop(self) -> None:
        self.release.set()
        self.server.stop()


class Webhooks:
    """Subscriptions made through the API, deleted again after the test."""

    def __init__(self, client: StackClient) -> None:
        self.client = client
        self.receivers: list[Receiver] = []
        self.created: list[tuple[str, str]] = []

    def receiver(self, **kwargs) -> Receiver:
        receiver = Receiver(**kwargs).start()
        self.receivers.append(receiver)
        return receiver

    async def subscribe(self, principal: str, receiver: Receiver, **fields) -> dict:
        response = await self.call(
            "POST", principal, "/v1/subscriptions", json={"url": receiver.url, "secret": SECRET, **fields}
        )
        assert response.status_code == 201, response.text
        self.created.append((principal, response.json()["id"]))
        return response.json()

    async def call(self, method: str, principal: str, path: str, role: str = "system", as_: str | None = None, **kw):
        headers = self.client._auth(as_ or principal, role)
        return await self.client.http.request(method, self.client.url(principal, path), headers=headers, **kw)

    async def deliveries(self, principal: str, sub_id: str, **params) -> list[dict]:
        response = await self.call("GET", principal, f"/v1/subscriptions/{sub_id}/deliveries", params=params)
        assert response.status_code == 200, response.text
        return response.json()["deliveries"]

    async def delivery(self, principal: str, sub_id: str, event_id: str) -> dict | None:
        return next((d for d in await self.deliveries(principal, sub_id) if d["event_id"] == event_id), None)

    async def close(self) -> None:
        for principal, sub_id in self.created:
            await self.call("DELETE", principal, f"/v1/subscriptions/{sub_id}")
        for receiver in self.receivers:
            receiver.stop()


@pytest.fixture
async def webhooks(client):
    hooks = Webhooks(client)
    yield hooks
    await hooks.close()


async def cross(client: StackClient, person: str, event_type: str = VISIT_MISSED) -> dict:
    """Posts an event from the region and waits until it is in Alingsås' inbox; returns the inbox item."""
    body = event(event_type, person)
    assert (await client.post_event(REGION, body)).status_code == 202
    items = await eventually(
        lambda: client.inbox_items(ALINGSAS), lambda items: any(i["event"]["id"] == body["id"] for i in items)
    )
    return next(i for i in items if i["event"]["id"] == body["id"])


async def test_a_delivery_is_the_inbox_record_signed_with_the_secret(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    receiver = webhooks.receiver()
    sub = await webhooks.subscribe(ALINGSAS, receiver)

    item = await cross(client, person)

    [request] = await eventually(lambda: _async(receiver.of(item["event"]["id"])), bool)
    assert verify(SECRET, request.headers, request.body)
    assert not verify("another-secret-0123456789", request.headers, request.body)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Samordna-Seq"] == str(item["seq"])
    assert request.headers["Samordna-Subscription-Id"] == sub["id"]
    assert request.headers["Samordna-Signature"].startswith("v1=")
    record = json.loads(request.body)
    assert record == {"seq": item["seq"], "received_at": record["received_at"], "event": item["event"]}
    delivery = await eventually(
        lambda: webhooks.delivery(ALINGSAS, sub["id"], item["event"]["id"]), lambda d: d["status"] == "delivered"
    )
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("delivered", 1, None)
    assert delivery["delivered_at"] is not None


async def test_an_endpoint_failing_five_times_gets_the_event_once(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    receiver = webhooks.receiver(answer=lambda event_id, nth: 503 if nth <= 5 else 200)
    sub = await webhooks.subscribe(ALINGSAS, receiver)

    item = await cross(client, person)
    event_id = item["event"]["id"]

    delivery = await eventually(
        lambda: webhooks.delivery(ALINGSAS, sub["id"], event_id),
        lambda d: d is not None and d["status"] == "delivered",
    )
    assert delivery["status"] == "delivered", delivery
    assert delivery["attempts"] == 6
    assert delivery["last_error"] is None
    await asyncio.sleep(1)  # a second send, if there were one, would come within the max retry delay
    assert [r.status for r in receiver.of(event_id)] == [503] * 5 + [200]
    assert len({r.headers["Samordna-Timestamp"] + r.headers["Samordna-Signature"] for r in receiver.of(event_id)}) > 1


async def test_a_hanging_endpoint_does_not_delay_a_healthy_one(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    hanging = webhooks.receiver(hang=True)
    healthy = webhooks.receiver()
    slow_sub = await webhooks.subscribe(ALINGSAS, hanging)
    await webhooks.subscribe(ALINGSAS, healthy)

    first = await cross(client, person)
    second = await cross(client, person)
    ids = [first["event"]["id"], second["event"]["id"]]

    await eventually(
        lambda: _async((all(healthy.delivered(i) for i in ids), hanging.hanging)),
        lambda state: state[0] and state[1] > 0,
    )
    assert all(healthy.delivered(i) for i in ids)
    assert hanging.hanging > 0 and not any(hanging.of(i) for i in ids)  # still waiting on its first request
    assert (await webhooks.delivery(ALINGSAS, slow_sub["id"], ids[0]))["status"] == "pending"

    hanging.release.set()
    delivered = await eventually(
        lambda: webhooks.deliveries(ALINGSAS, slow_sub["id"], status="delivered"),
        lambda rows: {d["event_id"] for d in rows} >= set(ids),
    )
    assert {d["event_id"] for d in delivered} >= set(ids)


async def test_a_delivery_failing_past_the_retry_window_is_parked_and_can_be_resent(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    down = {"status": 503}
    receiver = webhooks.receiver(answer=lambda event_id, nth: down["status"])
    sub = await webhooks.subscribe(ALINGSAS, receiver)

    items = [await cross(client, person), await cross(client, person)]
    ids = [item["event"]["id"] for item in items]

    parked = await eventually(
        lambda: webhooks.deliveries(ALINGSAS, sub["id"], status="parked"),
        lambda rows: {d["event_id"] for d in rows} >= set(ids),
        timeout=PARKING,
    )
    parked = [d for d in parked if d["event_id"] in ids]
    assert [d["status"] for d in parked] == ["parked", "parked"]
    assert all(d["last_error"] == "HTTP 503" and d["attempts"] > 5 for d in parked), parked
    counts = (await webhooks.call("GET", ALINGSAS, f"/v1/subscriptions/{sub['id']}")).json()["counts"]
    assert counts["parked"] >= 2
    sent_while_down = len(receiver.requests)
    await asyncio.sleep(1)
    assert len(receiver.requests) == sent_while_down  # parked means no more attempts

    down["status"] = 200
    resent = await webhooks.call("POST", ALINGSAS, f"/v1/subscriptions/{sub['id']}/deliveries/{items[0]['seq']}/resend")
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["attempts"], resent.json()["last_error"]) == ("pending", 0, None)
    await eventually(lambda: _async(receiver.delivered(ids[0])), bool)
    rest = await webhooks.call("POST", ALINGSAS, f"/v1/subscriptions/{sub['id']}/resend-parked")
    assert rest.json() == {"resent": 1}

    delivered = await eventually(
        lambda: webhooks.deliveries(ALINGSAS, sub["id"], status="delivered"),
        lambda rows: {d["event_id"] for d in rows} >= set(ids),
    )
    assert {d["event_id"]: d["attempts"] for d in delivered if d["event_id"] in ids} == {ids[0]: 1, ids[1]: 1}
    assert all(len(receiver.delivered(i)) == 1 for i in ids)


async def test_an_endpoint_that_refuses_connections_shows_why(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    response = await webhooks.call(
        "POST", ALINGSAS, "/v1/subscriptions", json={"url": f"http://127.0.0.1:{closed_port}/hooks", "secret": SECRET}
    )
    assert response.status_code == 201, response.text
    webhooks.created.append((ALINGSAS, response.json()["id"]))

    item = await cross(client, person)

    delivery = await eventually(
        lambda: webhooks.delivery(ALINGSAS, response.json()["id"], item["event"]["id"]),
        lambda d: d is not None and d["last_error"] is not None,
    )
    assert delivery["last_error"] == "connection refused"
    assert delivery["status"] in ("pending", "parked") and delivery["delivered_at"] is None


async def test_a_deleted_subscription_gets_nothing_more(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    failing = webhooks.receiver(answer=lambda event_id, nth: 500)
    control = webhooks.receiver()
    doomed = await webhooks.subscribe(ALINGSAS, failing)
    await webhooks.subscribe(ALINGSAS, control)
    first = await cross(client, person)
    await eventually(lambda: _async(len(failing.of(first["event"]["id"]))), lambda n: n >= 2)

    deleted = await webhooks.call("DELETE", ALINGSAS, f"/v1/subscriptions/{doomed['id']}")
    second = await cross(client, person)
    await eventually(lambda: _async(control.delivered(second["event"]["id"])), bool)
    sent = len(failing.requests)
    await asyncio.sleep(1.5)  # several retry delays: a live subscription would have been tried again

    assert deleted.status_code == 204
    assert len(failing.requests) == sent
    assert not failing.of(second["event"]["id"])
    gone = await webhooks.call("GET", ALINGSAS, f"/v1/subscriptions/{doomed['id']}")
    assert gone.status_code == 404
    assert gone.json()["type"].endswith("/not-found")


async def test_only_the_subscribed_event_types_are_delivered(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    receiver = webhooks.receiver()
    sub = await webhooks.subscribe(ALINGSAS, receiver, event_types=[SAMPLE_POSITIVE])

    visit = await cross(client, person, VISIT_MISSED)
    sample = await cross(client, person, SAMPLE_POSITIVE)  # after the visit in the inbox

    await eventually(lambda: _async(receiver.delivered(sample["event"]["id"])), bool)
    assert not receiver.of(visit["event"]["id"])
    assert {d["event_type"] for d in await webhooks.deliveries(ALINGSAS, sub["id"])} == {SAMPLE_POSITIVE}


async def test_from_seq_starts_a_subscription_earlier_in_the_inbox(client, webhooks, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    item = await cross(client, person)
    receiver = webhooks.receiver()

    await webhooks.subscribe(ALINGSAS, receiver, event_types=[VISIT_MISSED], from_seq=item["seq"])

    [request] = await eventually(lambda: _async(receiver.delivered(item["event"]["id"])), bool)
    assert json.loads(request.body)["seq"] == item["seq"]


async def test_each_gateway_has_its_own_subscriptions(client, webhooks):
    sub = await webhooks.subscribe(ALINGSAS, webhooks.receiver())

    own = (await webhooks.call("GET", REGION, "/v1/subscriptions")).json()["subscriptions"]
    gone = await webhooks.call("GET", REGION, f"/v1/subscriptions/{sub['id']}")

    assert sub["id"] not in {s["id"] for s in own}
    assert gone.status_code == 404


async def _async(value):
    return value


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
        "http://10.0.0.1/hooks",
        "http://[fe80::1]/hooks",
        "http://0.0.0.0/hooks",  # noqa: S104 (refused, not bound)
    ],
)
async def test_the_running_gateway_refuses_inward_urls_though_loopback_is_allowed_here(webhooks, url):
    # the test stack allows loopback (SAMORDNA_WEBHOOK_ALLOW_LOOPBACK) for its receivers, and nothing else inward
    response = await webhooks.call("POST", ALINGSAS, "/v1/subscriptions", json={"url": url, "secret": SECRET})

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "https://samordna.se/problems/webhook-address-refused"

"""The inbox, acknowledgements and dead letters over ASGI with in-memory stores."""

import json
import uuid
from datetime import timedelta

import pytest

from contracts.text import MAX_INT64
from services.gateway.inbox import InboxItem
from tests.support.events import problem_fields as fields
from tests.unit.fakes_gateway import ALINGSAS, NOW, REGION, FakeGateway, FakeInbox, FakeReceipts, delivery

TOO_BIG = str(MAX_INT64 + 1)  # 9223372036854775808
PERSON = "19121212-1212"


def inbox_item(seq: int) -> InboxItem:
    body = {"id": f"event-{seq}", "subject": "191212121212"}
    return InboxItem(seq, seq + 100, json.dumps(body), NOW, None, None)


async def test_the_inbox_is_read_page_by_page_with_its_cursor():
    gateway = FakeGateway(inbox=FakeInbox([inbox_item(seq) for seq in (1, 2, 3)]))

    async with gateway.api() as api:
        first = (await api.get("/v1/inbox", params={"limit": 2})).json()
        rest = (await api.get("/v1/inbox", params={"after": first["next_cursor"]})).json()

    assert [e["seq"] for e in first["events"]] == [1, 2] and first["next_cursor"] == "2"
    assert rest["events"] == [
        {
            "seq": 3,
            "delivery_seq": 103,
            "received_at": NOW.isoformat(),
            "receipt_due_at": None,
            "acknowledged_at": None,
            "event": {"id": "event-3", "subject": "191212121212"},
        }
    ]
    assert rest["next_cursor"] == "3"


async def test_the_largest_64_bit_cursor_is_an_empty_page():
    async with FakeGateway(inbox=FakeInbox([inbox_item(1)])).api() as api:
        page = (await api.get("/v1/inbox", params={"after": MAX_INT64})).json()

    assert page == {"events": [], "next_cursor": str(MAX_INT64)}


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
async def test_an_integer_outside_64_bits_gets_422_not_500(method, path, param, value):
    async with FakeGateway().api() as api:
        sub = (await api.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", "secret": "s" * 24})).json()
        response = await api.request(method, path.format(sub=sub["id"], value=value))

    assert response.status_code == 422, response.text
    assert response.json()["type"] == "https://samordna.se/problems/invalid-request"
    assert fields(response) == {param}


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}])
async def test_a_page_size_out_of_bounds_gets_422(params):
    async with FakeGateway().api() as api:
        response = await api.get("/v1/inbox", params=params)

    assert (response.status_code, fields(response)) == (422, {"query.limit"})


# --- acknowledgements -----------------------------------------------------------------------
async def test_an_acknowledgement_makes_one_receipt_and_answers_the_same_again():
    receipts = FakeReceipts(deliveries=[delivery(1, "discharge-1")])

    async with FakeGateway(receipts=receipts).api() as api:
        first = await api.post("/v1/inbox/discharge-1/ack", json={"unit": "Socialtjänsten Alingsås"})
        again = await api.post("/v1/inbox/discharge-1/ack")

    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    assert first.json()["sender"] == REGION and first.json()["receipt_id"].startswith("receipt-")
    [receipt] = receipts.sent
    assert (receipt.id, receipt.principal, receipt.data["unit"]) == (
        first.json()["receipt_id"],
        ALINGSAS,
        "Socialtjänsten Alingsås",
    )


async def test_acknowledging_what_was_not_delivered_gets_404_naming_the_event_id():
    async with FakeGateway().api() as api:
        response = await api.post(f"/v1/inbox/never-{uuid.uuid4()}/ack")

    assert response.status_code == 404
    assert response.json() == {
        "type": "https://samordna.se/problems/not-in-inbox",
        "title": "Not in inbox",
        "status": 404,
        "detail": "no delivered event has this id",
        "errors": [{"field": "event_id", "message": "no delivered event has this id"}],
    }


async def test_an_id_two_senders_used_gets_409_until_the_sender_is_named():
    both = [delivery(1, "shared-id", sender=REGION), delivery(2, "shared-id", sender="kommun-1441")]

    async with FakeGateway(receipts=FakeReceipts(deliveries=both)).api() as api:
        ambiguous = await api.post("/v1/inbox/shared-id/ack")
        named = await api.post("/v1/inbox/shared-id/ack", json={"sender": "kommun-1441"})

    assert ambiguous.status_code == 409
    message = "events from kommun-1441, region-14 have this id: name the sender"
    assert ambiguous.json()["type"].endswith("/ambiguous-event-id")
    assert ambiguous.json()["errors"] == [{"field": "sender", "message": message}]
    assert ambiguous.json()["detail"] == message
    assert named.status_code == 200 and named.json()["sender"] == "kommun-1441"


async def test_an_acknowledgement_of_an_unprintable_id_or_with_a_personnummer_gets_422():
    async with FakeGateway().api() as api:
        unprintable = await api.post("/v1/inbox/a%00b/ack")  # NUL, as the URL carries it
        with_number = await api.post(f"/v1/inbox/{uuid.uuid4()}/ack", json={"unit": f"avd {PERSON}"})
        bare_number = await api.post("/v1/inbox/x/ack", json={"unit": "191212121212"})

    assert (unprintable.status_code, fields(unprintable)) == (422, {"path.event_id"})
    assert (with_number.status_code, fields(with_number)) == (422, {"unit"})
    assert bare_number.status_code == 422
    assert PERSON not in with_number.text and "191212121212" not in bare_number.text


# --- dead letters ---------------------------------------------------------------------------
def letter(letter_id: int, replayed: bool = False) -> dict:
    return {
        "id": letter_id,
        "origin_topic": f"events.{ALINGSAS}",
        "origin_partition": 0,
        "origin_offset": letter_id,
        "consumer": "gate",
        "reason": "not valid JSON",
        "kafka_key": None,
        "value": "{broken",
        "failed_at": NOW,
        "replayed_at": NOW + timedelta(minutes=5) if replayed else None,
    }


async def test_dead_letters_are_listed_by_status_with_a_cursor():
    gateway = FakeGateway()
    gateway.dead_letters.letters = [letter(1), letter(2, replayed=True), letter(3)]

    async with gateway.api() as api:
        open_ = (await api.get("/v1/dead-letters")).json()
        replayed = (await api.get("/v1/dead-letters", params={"status": "replayed"})).json()
        after = (await api.get("/v1/dead-letters", params={"status": "all", "after": 1, "limit": 1})).json()
        bad = await api.get("/v1/dead-letters", params={"status": "gone"})

    assert [d["id"] for d in open_["dead_letters"]] == [1, 3] and open_["next_cursor"] == "3"
    assert replayed["dead_letters"] == [
        letter(2) | {"failed_at": NOW.isoformat(), "replayed_at": replayed["dead_letters"][0]["replayed_at"]}
    ]
    assert replayed["dead_letters"][0]["replayed_at"] == (NOW + timedelta(minutes=5)).isoformat()
    assert [d["id"] for d in after["dead_letters"]] == [2] and after["next_cursor"] == "2"
    assert (bad.status_code, fields(bad)) == (422, {"query.status"})


async def test_dead_letters_are_for_the_principals_own_systems_only():
    async with FakeGateway().api(token="coordinator-token") as coordinator:
        assert (await coordinator.get("/v1/dead-letters")).status_code == 403
    async with FakeGateway().api(token="region-token") as region:
        assert (await region.get("/v1/dead-letters")).status_code == 403


def due_item(seq: int, due_in: timedelta | None, acknowledged: bool = False, event_type: str = "x") -> InboxItem:
    body = {"id": f"event-{seq}", "subject": "191212121212", "type": event_type}
    due = NOW + due_in if due_in is not None else None
    return InboxItem(seq, seq + 100, json.dumps(body), NOW, due, NOW if acknowledged else None)


async def test_latest_puts_the_overdue_first_then_the_newest_and_leaves_receipts_out():
    items = [
        due_item(1, None), due_item(2, -timedelta(hours=1)), due_item(3, -timedelta(hours=2)),
        due_item(4, timedelta(days=1)), due_item(5, -timedelta(hours=3), acknowledged=True),
        due_item(6, None, event_type="se.samordna.receipt.acknowledged.v1"),
    ]  # fmt: skip
    async with FakeGateway(inbox=FakeInbox(items)).api(token="coordinator-token") as api:
        answer = await api.get("/v1/inbox/latest", params={"limit": 10})
    assert answer.status_code == 200, answer.text
    assert [e["seq"] for e in answer.json()["events"]] == [3, 2, 5, 4, 1]


@pytest.mark.parametrize("path", ["/v1/inbox", "/v1/inbox/latest"])
async def test_the_principal_s_own_coordinators_read_the_inbox_and_no_one_else_s(path):
    async with FakeGateway(inbox=FakeInbox([inbox_item(1)])).api(token="coordinator-token") as api:
        assert (await api.get(path)).status_code == 200
    async with FakeGateway(inbox=FakeInbox([inbox_item(1)])).api(token="region-coordinator-token") as api:
        assert (await api.get(path)).status_code == 403


async def test_a_coordinator_acknowledges_with_the_same_receipt_as_a_system():
    receipts = FakeReceipts(deliveries=[delivery(1, "discharge-1")])
    async with FakeGateway(receipts=receipts).api(token="coordinator-token") as api:
        first = await api.post("/v1/inbox/discharge-1/ack", json={"unit": "Socialtjänsten Alingsås"})
    async with FakeGateway(receipts=receipts).api(token="system-token") as api:
        again = await api.post("/v1/inbox/discharge-1/ack")
    assert first.status_code == again.status_code == 200
    assert first.json()["receipt_id"] == again.json()["receipt_id"]
    async with FakeGateway(receipts=receipts).api(token="region-coordinator-token") as api:
        assert (await api.post("/v1/inbox/discharge-1/ack")).status_code == 403

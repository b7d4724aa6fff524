"""The gateway's access log (PDL 4 kap., HSLF-FS 2016:40): what a member of staff does here with
their own token — reads the inbox, acknowledges, registers an event — is an entry per person,
by pseudonym; a system's calls are not (its own record-keeping); the principal's coordinators
search their own staff's entries."""

import json

from services.gateway.inbox import InboxItem
from tests.support.client import event
from tests.unit.fakes_gateway import ALINGSAS, NOW, PSEUDONYMS, FakeGateway, FakeInbox, FakeReceipts, delivery

ANNA, BO = "191212121212", "198112189876"
STAFF = "SE2120001181-E00000000042"


def item(seq: int, person: str) -> InboxItem:
    return InboxItem(seq, seq, json.dumps({"id": f"event-{seq}", "subject": person}), NOW, None, None)


def logged(gateway: FakeGateway) -> list[tuple]:
    return [(a.who.user, a.who.role, a.action, a.person, a.detail) for a in gateway.access_log.entries]


async def test_a_member_of_staff_reading_the_inbox_is_logged_once_per_person_and_a_system_is_not():
    gateway = FakeGateway(inbox=FakeInbox([item(1, ANNA), item(2, BO), item(3, ANNA)]))
    async with gateway.api(token="system-token") as system:
        assert (await system.get("/v1/inbox")).status_code == 200
    assert logged(gateway) == []
    async with gateway.api(token="staff-jwt") as staff:
        assert (await staff.get("/v1/inbox")).status_code == 200
        assert (await staff.get("/v1/inbox/latest")).status_code == 200
    anna, bo = PSEUDONYMS.of(ANNA), PSEUDONYMS.of(BO)
    assert logged(gateway) == [
        (STAFF, "coordinator", "gateway.inbox.read", anna, {}),
        (STAFF, "coordinator", "gateway.inbox.read", bo, {}),
        (STAFF, "coordinator", "gateway.inbox.latest", anna, {}),
        (STAFF, "coordinator", "gateway.inbox.latest", bo, {}),
    ]
    assert ANNA not in repr(gateway.access_log.entries) and BO not in repr(gateway.access_log.entries)


async def test_an_empty_page_logs_nothing():
    gateway = FakeGateway()
    async with gateway.api(token="staff-jwt") as staff:
        assert (await staff.get("/v1/inbox")).status_code == 200
    assert logged(gateway) == []


async def test_an_acknowledgement_and_an_event_registered_by_hand_are_logged_with_the_person():
    gateway = FakeGateway(receipts=FakeReceipts(deliveries=[delivery(1, "discharge-1", subject=ANNA)]))
    async with gateway.api(token="staff-jwt") as staff:
        assert (await staff.post("/v1/inbox/discharge-1/ack")).status_code == 200
        body = event("se.samordna.municipality.intervention.decided.v1", "19811218-9876")
        posted = await staff.post("/v1/events", json=body)
    assert posted.status_code == 202, posted.text
    assert logged(gateway) == [
        (STAFF, "coordinator", "gateway.receipt.sent", PSEUDONYMS.of(ANNA), {"event_id": "discharge-1"}),
        (STAFF, "coordinator", "gateway.event.sent", PSEUDONYMS.of(BO), {"type": body["type"]}),
    ]


async def test_a_refused_call_logs_nothing():
    gateway = FakeGateway(inbox=FakeInbox([item(1, ANNA)]))
    async with gateway.api(token="region-coordinator-token") as other:
        assert (await other.get("/v1/inbox")).status_code == 403
    async with gateway.api(token="staff-jwt") as staff:
        assert (await staff.post("/v1/inbox/nothing-here/ack")).status_code == 404
    assert logged(gateway) == []


async def test_coordinators_search_their_own_principals_entries_and_the_search_is_logged():
    gateway = FakeGateway(inbox=FakeInbox([item(1, ANNA)]))
    async with gateway.api(token="staff-jwt") as staff:
        await staff.get("/v1/inbox")
        found = await staff.post("/v1/access-log/search", json={"person": "19121212-1212"})
    assert found.status_code == 200, found.text
    assert found.json()["principal"] == ALINGSAS
    assert [e["action"] for e in found.json()["entries"]] == ["access_log.search", "gateway.inbox.read"]  # newest first
    async with gateway.api(token="system-token") as system:
        assert (await system.post("/v1/access-log/search", json={})).status_code == 403

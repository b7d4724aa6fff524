"""The gateway's access log on the running stack: a member of staff reading the inbox with their
own JWT is an entry there, found by the principal's coordinators; a system's reads are not."""

from deploy.jwt import issue
from tests.support.client import event, eventually

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


async def test_staff_reading_the_inbox_with_their_own_jwt_is_in_the_gateways_access_log(client, running_stack, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)
    assert (await client.post_event(REGION, body)).status_code == 202
    await eventually(
        lambda: client.inbox_items(ALINGSAS), lambda items: any(i["event"]["id"] == body["id"] for i in items)
    )  # read by a system: not logged
    staff = {"Authorization": f"Bearer {issue(running_stack.state_dir, ALINGSAS, 'coordinator')}"}

    read = await client.http.get(client.url(ALINGSAS, "/v1/inbox/latest"), headers=staff)
    assert read.status_code == 200 and body["id"] in read.text
    found = await client.http.post(
        client.url(ALINGSAS, "/v1/access-log/search"), json={"person": person}, headers=staff
    )

    assert found.status_code == 200, found.text
    entries = found.json()["entries"]
    assert [e["action"] for e in entries] == ["access_log.search", "gateway.inbox.latest"]  # newest first
    assert {(e["principal"], e["role"]) for e in entries} == {(ALINGSAS, "coordinator")}
    assert all(f"{ALINGSAS}/coordinator" in e["user"] for e in entries), "the token's own subject"
    assert person.replace("-", "") not in found.text.replace("-", "")

"""A gateway killed with SIGKILL after it answered 202 and before it could publish loses nothing:
the outbox rows survive the process, and the restarted gateway's relay publishes them — the
events posted one by one and those a batch (POST /v1/events:batch) answered 202 for."""

import asyncio
import signal

from tests.support.client import event, eventually
from tests.support.faults import inbox_counts, inbox_seqs, start_ready, unpublished

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
EVENTS = 12


async def test_events_accepted_but_unpublished_survive_a_sigkill_of_the_gateway(healthy_stack, client, person):
    stack = healthy_stack
    await client.grant(REGION, person, [REGION, ALINGSAS])
    bodies = [event(VISIT_MISSED, person) for _ in range(EVENTS)]
    singles, batched = bodies[: EVENTS // 2], bodies[EVENTS // 2 :]
    ids = [body["id"] for body in bodies]
    invalid = event(VISIT_MISSED, person) | {"time": "not a time"}

    # No broker: the relay cannot publish, so every accepted event stays in the outbox.
    await asyncio.to_thread(stack.kafka, "stop")
    for body in singles:
        response = await client.post_event(REGION, body)
        assert response.status_code == 202, response.text
    response = await client.post_events(REGION, [batched[0], invalid, *batched[1:], singles[0]])
    assert response.status_code == 200, response.text
    statuses = [item["status"] for item in response.json()["results"]]
    assert statuses == [202, 422] + [202] * len(batched), "an answer per event; one posted before is accepted again"
    assert await unpublished(stack, REGION, ids) == set(ids), "accepted events should wait unpublished"

    await asyncio.to_thread(stack.stop_service, REGION, signal.SIGKILL)
    await asyncio.to_thread(stack.kafka, "start")
    await asyncio.to_thread(start_ready, stack, REGION)

    counts = await eventually(
        lambda: inbox_counts(client, ALINGSAS), lambda c: all(c[i] >= 1 for i in ids), timeout=120
    )
    assert {i: counts[i] for i in ids} == dict.fromkeys(ids, 1), "each event in the inbox exactly once"
    assert await unpublished(stack, REGION, ids) == set()
    assert invalid["id"] not in counts
    assert not set(ids) & set(await client.inbox_ids(LERUM)), "no consent names Lerum"
    seqs = await inbox_seqs(client, ALINGSAS)
    assert seqs == list(range(1, len(seqs) + 1)), "the inbox sequence is gapless"

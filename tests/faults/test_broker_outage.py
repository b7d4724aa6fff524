"""The broker away for 30 seconds while partner systems keep posting: the gateways keep
answering 202, and once the broker is back every event is decided, audited and delivered once,
by the same service processes (none had to be restarted).

Two ways to go: a clean stop, and a broker that hangs first (SIGSTOP: the producers' requests
are sent and never answered, so records are in flight for certain) and is then SIGKILLed with
them. The test stack's producers time a request out after 5 s (conftest.py), so the outage is
six times longer than that: batches queued during it expire inside aiokafka, which is what
left its idempotent producer refusing every later record (OutOfOrderSequenceNumber)."""

import asyncio
from collections import Counter

import pytest

from tests.support.client import event
from tests.support.faults import Posted, alive, assert_all_accounted_for, log_size, log_tail, pid_of, unpublished
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"
OUTAGE_SECONDS = 30
HUNG_SECONDS = 4  # the relays poll every second: they have sent to the hung broker by then
POST_INTERVAL = 0.5
LOG_GROWTH_LIMIT = 5_000_000  # bytes per service log over the whole test; a log storm writes far more


@pytest.mark.parametrize("how", ["stopped", "hung-then-killed"])
async def test_a_broker_outage_of_30_seconds_loses_nothing(healthy_stack, client, how):
    stack = healthy_stack
    pids = {s.name: pid_of(stack, s.name) for s in stack.services()}
    log_sizes = {s.name: log_size(stack, s.name) for s in stack.services()}
    shared, private = random_person_id(), random_person_id()
    await client.grant(REGION, shared, [REGION, ALINGSAS])
    # (sender, event type, person, the recipient a consent allows, or None)
    streams = [
        (REGION, VISIT_MISSED, shared, ALINGSAS),
        (ALINGSAS, INTERVENTION_DECIDED, shared, REGION),
        (REGION, VISIT_MISSED, private, None),
    ]
    posted: list[Posted] = []
    during_outage = Counter()
    outage, done = asyncio.Event(), asyncio.Event()

    async def post(sender, event_type, person, recipient) -> None:
        while not done.is_set():
            body = event(event_type, person)
            response = await client.post_event(sender, body)
            assert response.status_code == 202, f"{sender} answered {response.status_code}: {response.text}"
            posted.append(Posted(sender, body, recipient))
            during_outage[sender] += outage.is_set()
            await asyncio.sleep(POST_INTERVAL)

    async def outage_window() -> None:
        await asyncio.sleep(2)
        if how == "stopped":
            await asyncio.to_thread(stack.kafka, "stop")
            outage.set()
        else:
            await asyncio.to_thread(stack.kafka, "pause")
            outage.set()
            await asyncio.sleep(HUNG_SECONDS)
            in_flight = await unpublished(stack, REGION, [p.id for p in posted if p.sender == REGION])
            assert len(in_flight) >= 3, "the relay had nothing to send while the broker hung"
            await asyncio.to_thread(stack.kafka, "kill")
        await asyncio.sleep(OUTAGE_SECONDS)
        outage.clear()
        await asyncio.to_thread(stack.kafka, "start")
        await asyncio.sleep(3)
        done.set()

    await asyncio.gather(outage_window(), *(post(*stream) for stream in streams))
    assert all(during_outage[sender] >= 10 for sender in (REGION, ALINGSAS)), during_outage

    stats = await assert_all_accounted_for(client, posted, f"broker outage ({how})")
    print(f"\nbroker outage ({how}): {stats}, {sum(during_outage.values())} posted while the broker was down")

    for service in stack.services():
        await asyncio.to_thread(stack.wait_ready, stack.url(service.name), 120)
    died = [name for name, pid in pids.items() if not alive(pid) or pid_of(stack, name) != pid]
    assert not died, f"these services did not survive the broker outage: {died}\n" + "\n".join(
        log_tail(stack, name) for name in died
    )
    grown = {name: log_size(stack, name) - size for name, size in log_sizes.items()}
    assert all(growth < LOG_GROWTH_LIMIT for growth in grown.values()), f"log bytes written: {grown}"

"""PostgreSQL stopped and started again while events flow: nothing accepted is lost, and every
service recovers by itself — the same processes, ready again, none restarted."""

import asyncio

from tests.support.client import event
from tests.support.faults import (
    Posted,
    alive,
    assert_all_accounted_for,
    log_tail,
    pid_of,
    post_until_accepted,
)
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"
DOWN_SECONDS = 8
POST_INTERVAL = 0.3


async def test_a_database_restart_loses_nothing_and_needs_no_service_restart(healthy_stack, client):
    stack = healthy_stack
    pids = {s.name: pid_of(stack, s.name) for s in stack.services()}
    shared, private = random_person_id(), random_person_id()
    await client.grant(REGION, shared, [REGION, ALINGSAS])
    streams = [
        (REGION, VISIT_MISSED, shared, ALINGSAS),
        (ALINGSAS, INTERVENTION_DECIDED, shared, REGION),
        (REGION, VISIT_MISSED, private, None),
    ]
    posted: list[Posted] = []
    attempts: list[int] = []
    done = asyncio.Event()

    async def post(sender, event_type, person, recipient) -> None:
        while not done.is_set():
            body = event(event_type, person)
            attempts.append(await post_until_accepted(client, sender, body))
            posted.append(Posted(sender, body, recipient))
            await asyncio.sleep(POST_INTERVAL)

    async def restart_database() -> None:
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.postgres, "stop")
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(stack.postgres, "start")
        await asyncio.sleep(4)
        done.set()

    await asyncio.gather(restart_database(), *(post(*stream) for stream in streams))
    assert any(a > 1 for a in attempts), "no post was refused while the database was down"

    stats = await assert_all_accounted_for(client, posted, "database restart")
    print(f"\ndatabase restart: {stats}, {sum(a > 1 for a in attempts)} events posted more than once before a 202")

    died = [name for name, pid in pids.items() if not alive(pid) or pid_of(stack, name) != pid]
    assert not died, f"these services did not survive the database restart: {died}\n" + "\n".join(
        log_tail(stack, name) for name in died
    )
    for service in stack.services():
        await asyncio.to_thread(stack.wait_ready, stack.url(service.name), 120)

"""One broker of the three killed with SIGKILL while partner systems post: with three copies of
every partition and two in sync required, the cluster goes on, and every accepted event is
decided, audited and delivered once (after de-duplication by event id)."""

import asyncio

from aiokafka.admin import AIOKafkaAdminClient

from tests.support.client import event
from tests.support.faults import Posted, assert_all_accounted_for
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"
KILLED_NODE = 2
DOWN_SECONDS = 15


async def test_the_topics_are_replicated_three_times(cluster_stack):
    admin = AIOKafkaAdminClient(**cluster_stack.kafka_options())
    await admin.start()
    try:
        assert len((await admin.describe_cluster())["brokers"]) == 3
        [described] = await admin.describe_topics(["deliveries.kommun-1489"])
        assert {len(p["replicas"]) for p in described["partitions"]} == {3}
    finally:
        await admin.close()


async def test_a_broker_killed_while_events_flow_loses_nothing(cluster_stack, cluster_client):
    client = cluster_client
    shared, private = random_person_id(), random_person_id()
    await client.grant(REGION, shared, [REGION, ALINGSAS])
    streams = [
        (REGION, VISIT_MISSED, shared, ALINGSAS),
        (ALINGSAS, INTERVENTION_DECIDED, shared, REGION),
        (REGION, VISIT_MISSED, private, None),
    ]
    posted: list[Posted] = []
    done = asyncio.Event()

    async def post(sender, event_type, person, recipient) -> None:
        while not done.is_set():
            body = event(event_type, person)
            response = await client.post_event(sender, body)
            assert response.status_code == 202, f"{sender} answered {response.status_code}: {response.text}"
            posted.append(Posted(sender, body, recipient))
            await asyncio.sleep(0.3)

    async def broker_failure() -> None:
        await asyncio.sleep(3)
        await asyncio.to_thread(cluster_stack.kafka, "kill", KILLED_NODE)
        await asyncio.sleep(DOWN_SECONDS)
        await asyncio.to_thread(cluster_stack.kafka, "start", KILLED_NODE)
        await asyncio.sleep(3)
        done.set()

    await asyncio.gather(broker_failure(), *(post(*stream) for stream in streams))

    stats = await assert_all_accounted_for(client, posted, "broker killed", timeout=180)
    print(f"\nthree brokers, one killed: {stats}")

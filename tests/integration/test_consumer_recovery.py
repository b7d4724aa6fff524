"""A consumer that lost its group for good is started again, on the real broker.

Under uvloop, aiokafka's group coordination task died of a RuntimeError after a broker SIGKILL
(aio-libs/aiokafka#1038), and from then on every fetch failed while FastStream logged "Kafka
error occurred" every 5 s for ever. The services now run on the standard loop, and a watchdog
starts such a consumer again. Here the coordination task is ended by hand, the same end state.
"""

import asyncio
import uuid

from services.runtime.consuming import batch_consumer, coordination_ended, from_value, restart_dead_consumers
from services.runtime.kafka import kafka_broker
from tests.support.kafka import create_topic, produce


async def test_a_subscriber_whose_consumer_lost_its_group_is_started_again_and_goes_on(infra):
    topic = f"test.watchdog.{uuid.uuid4().hex}"
    await create_topic(infra.kafka_options(), topic)
    broker = kafka_broker(infra.kafka_settings(), "test-watchdog")
    handled: list[bytes] = []
    arrived = asyncio.Event()

    async def handle(values: list[bytes]) -> None:
        handled.extend(values)
        arrived.set()

    batch_consumer(broker, topic, f"test-{uuid.uuid4().hex}", from_value(bytes), handle)
    async with broker:
        await broker.start()
        watchdog = asyncio.create_task(restart_dead_consumers(broker, every=0.5))
        try:
            await produce(infra.kafka_options(), topic, b"first")
            await asyncio.wait_for(arrived.wait(), 30)

            [subscriber] = broker.subscribers
            broken = subscriber.consumer
            broken._coordinator._coordination_task.cancel()
            await asyncio.sleep(0.1)
            assert coordination_ended(broken)

            arrived.clear()
            await produce(infra.kafka_options(), topic, b"second")
            await asyncio.wait_for(arrived.wait(), 60)
        finally:
            watchdog.cancel()
    assert handled == [b"first", b"second"]
    assert subscriber.consumer is not broken

"""Receipts (kvittens) and delivery numbers, through the whole stack on the real broker.

The test stack gives a SIP request a 3-second receipt deadline (tests/conftest.py), so an
unacknowledged one is reported overdue while the test waits.
"""

from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.topics import DELIVERY_SEQ_HEADER, PER_PERSON_PARTITIONS, deliveries_topic
from tests.support.client import event, eventually

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
DISCHARGE_PLANNED = "se.samordna.region.discharge.planned.v1"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SIP_REQUESTED = "se.samordna.joint.sip.requested.v1"
ACKNOWLEDGED = "se.samordna.receipt.acknowledged.v1"
OVERDUE = "se.samordna.receipt.overdue.v1"


async def delivered(client, principal, event_id) -> dict:
    items = await eventually(
        lambda: client.inbox_items(principal), lambda items: any(i["event"]["id"] == event_id for i in items)
    )
    [item] = [i for i in items if i["event"]["id"] == event_id]
    return item


async def receipts_for(client, principal, event_id, receipt_type=ACKNOWLEDGED, timeout=30) -> list[dict]:
    def about(items):
        return [i for i in items if i["event"]["type"] == receipt_type and i["event"]["data"]["event_id"] == event_id]

    return about(await eventually(lambda: client.inbox_items(principal), lambda items: about(items), timeout))


async def test_a_receipt_goes_back_to_the_sender_only_and_once(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS, LERUM])
    body = event(DISCHARGE_PLANNED, person)
    await client.post_event(REGION, body)
    item = await delivered(client, ALINGSAS, body["id"])
    assert item["receipt_due_at"] is not None and item["acknowledged_at"] is None

    first = await client.ack(ALINGSAS, body["id"], {"unit": "Socialtjänsten Alingsås"})
    again = await client.ack(ALINGSAS, body["id"])

    assert first.status_code == 200, first.text
    assert again.json() == first.json()
    [receipt] = await receipts_for(client, REGION, body["id"])
    assert receipt["event"]["principal"] == ALINGSAS
    assert receipt["event"]["data"]["event_type"] == DISCHARGE_PLANNED
    assert receipt["event"]["id"] == first.json()["receipt_id"]
    await delivered(client, LERUM, body["id"])  # Lerum got the event itself, but not Alingsås's receipt
    assert not [
        i
        for i in await client.inbox_items(LERUM)
        if i["event"]["type"] == ACKNOWLEDGED and i["event"]["data"]["event_id"] == body["id"]
    ]
    assert (await delivered(client, ALINGSAS, body["id"]))["acknowledged_at"] is not None


async def test_an_action_event_not_acknowledged_in_time_is_reported_overdue_and_alerts_the_board(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(SIP_REQUESTED, person)
    await client.post_event(REGION, body)
    await delivered(client, ALINGSAS, body["id"])

    [overdue] = await receipts_for(client, REGION, body["id"], OVERDUE)

    assert overdue["event"]["principal"] == ALINGSAS
    board = await eventually(lambda: client.board(REGION), lambda b: _alerts(b, body["id"]))
    assert [a["kind"] for a in _alerts(board, body["id"])] == ["receipt_overdue"]
    # a late receipt closes the alert
    assert (await client.ack(ALINGSAS, body["id"])).status_code == 200
    board = await eventually(lambda: client.board(REGION), lambda b: not _alerts(b, body["id"]))
    assert not _alerts(board, body["id"])


def _alerts(board: dict, event_id: str) -> list[dict]:
    return [a for row in board["rows"] for a in row["alerts"] if a["event_id"] == event_id]


async def test_an_event_that_needs_no_action_has_no_deadline(client, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    body = event(VISIT_MISSED, person)
    await client.post_event(REGION, body)

    assert (await delivered(client, ALINGSAS, body["id"]))["receipt_due_at"] is None


async def test_every_delivery_to_a_recipient_carries_a_gapless_number(client, running_stack, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    bodies = [event(VISIT_MISSED, person) for _ in range(10)]
    for body in bodies:
        await client.post_event(REGION, body)
    for body in bodies:
        await delivered(client, ALINGSAS, body["id"])

    numbers = await _delivery_numbers(running_stack.kafka_options(ALINGSAS), deliveries_topic(ALINGSAS))

    assert sorted(numbers) == list(range(1, len(numbers) + 1))
    inbox_numbers = {i["event"]["id"]: i["delivery_seq"] for i in await client.inbox_items(ALINGSAS)}
    ours = [inbox_numbers[b["id"]] for b in bodies]
    assert ours == sorted(ours)  # one person's events: one partition, in order


async def _delivery_numbers(kafka: dict, topic: str) -> list[int]:
    """Every delivery number on the topic, read as a Kafka-speaking subscriber would."""
    consumer = AIOKafkaConsumer(**kafka, auto_offset_reset="earliest", isolation_level="read_committed")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PER_PERSON_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        numbers: list[int] = []
        while [tp for tp, offset in end.items() if await consumer.position(tp) < offset]:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                numbers += [int(dict(r.headers)[DELIVERY_SEQ_HEADER]) for r in records]
        return numbers
    finally:
        await consumer.stop()

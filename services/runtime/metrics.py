"""Prometheus metrics every service exposes at /metrics. Labels name services, principals,
topics, consumer groups and reasons — never a person, an event id or a pseudonym."""

import time

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest

EVENTS_ACCEPTED = Counter(
    "samordna_events_accepted_total", "Events accepted by a gateway (HTTP 202, committed)", ["principal"]
)
OUTBOX_PUBLISHED = Counter("samordna_outbox_published_total", "Outbox rows published to Kafka", ["table"])
OUTBOX_BACKLOG = Gauge("samordna_outbox_backlog", "Outbox rows not yet published", ["table"])
DELIVERED = Counter("samordna_inbox_delivered_total", "Events stored in a principal's inbox", ["principal"])
RECEIPTS_OVERDUE = Counter(
    "samordna_receipts_overdue_total", "Events that need action reported as not acknowledged in time", ["principal"]
)
GATE_DECISIONS = Counter(
    "samordna_gate_decisions_total", "Gate decisions", ["sender", "recipient", "forwarded", "reason"]
)
DEAD_LETTERS = Counter("samordna_dead_letters_total", "Records sent to dead.letters", ["consumer", "origin_topic"])
WEBHOOK_BACKLOG = Gauge("samordna_webhook_backlog", "Webhook deliveries by status", ["principal", "status"])
OUTBOX_OLDEST = Gauge(
    "samordna_outbox_oldest_unpublished_seconds", "Age of the oldest outbox row not yet published", ["table"]
)
PRODUCER_REBUILDS = Counter(
    "samordna_producer_rebuilds_total", "Kafka producers closed and built again after an error", ["producer"]
)
GATE_ALREADY_DECIDED = Counter(
    "samordna_gate_already_decided_total",
    "Records a gate skipped because another gate of its group had decided them (a hand-over)",
    ["group"],
)
CONSUMER_RESTARTS = Counter(
    "samordna_consumer_restarts_total", "Kafka consumers started again after their group coordination ended", ["group"]
)
CONSUMER_OLDEST = Gauge(
    "samordna_consumer_oldest_unprocessed_seconds",
    "Age of the oldest record a consumer group has not yet committed, per group and topic",
    ["group", "topic"],
)
CONSUMER_LAG = Gauge("samordna_consumer_lag", "Records not yet consumed, per group and topic", ["group", "topic"])


class OldestUncommitted:
    """samordna_consumer_oldest_unprocessed_seconds for one consumer group: the age of the oldest
    record it holds and has not committed, computed when scraped, so that it keeps growing while
    the consumer is stuck on a batch (and is 0 while it holds nothing)."""

    def __init__(self, group: str) -> None:
        self._group = group
        self._since: dict[str, float] = {}  # topic -> the oldest held record's timestamp (seconds)
        self._registered: set[str] = set()

    def holding(self, topic: str, timestamp_ms: int) -> None:
        if topic not in self._registered:
            CONSUMER_OLDEST.labels(self._group, topic).set_function(lambda: self.age(topic))
            self._registered.add(topic)
        self._since[topic] = min(self._since.get(topic, timestamp_ms / 1000), timestamp_ms / 1000)

    def committed(self, topic: str) -> None:
        self._since.pop(topic, None)

    def age(self, topic: str) -> float:
        since = self._since.get(topic)
        return 0.0 if since is None else max(0.0, time.time() - since)


def metrics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router

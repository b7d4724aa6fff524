"""The ops dashboard's numbers: per service, from the Prometheus metrics every service exposes,
and consumer lag per group, from the broker. Aggregates only — no metric carries a person.

Every `every_seconds` the monitor scrapes each service's /metrics and reads every Samordna
consumer group's committed offsets against the topics' ends; it keeps the samples of the last
few minutes, so that rates (events per minute) come from two samples a minute apart.
"""

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field

import httpx
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from services.runtime.metrics import CONSUMER_LAG

log = logging.getLogger(__name__)

GROUP_PREFIX = "samordna-"
# metric name -> the label whose values are shown apart (None: one sum)
SHOWN = {
    "samordna_events_accepted": None,
    "samordna_inbox_delivered": None,
    "samordna_gate_decisions": "forwarded",
    "samordna_dead_letters": None,
    "samordna_receipts_overdue": None,
    "samordna_outbox_backlog": None,
    "samordna_webhook_backlog": "status",
    "samordna_outbox_oldest_unpublished_seconds": None,
    "samordna_consumer_oldest_unprocessed_seconds": None,
    "samordna_producer_rebuilds": None,
    "samordna_consumer_restarts": None,
}
OLDEST = {"samordna_outbox_oldest_unpublished_seconds", "samordna_consumer_oldest_unprocessed_seconds"}  # max, not sum
RATES = ("samordna_events_accepted", "samordna_inbox_delivered", "samordna_gate_decisions")


@dataclass
class Sample:
    at: float
    services: dict[str, dict[str, float] | None] = field(default_factory=dict)  # None: the service did not answer
    lag: dict[str, dict[str, int]] = field(default_factory=dict)


class OpsMonitor:
    def __init__(self, targets: dict[str, str], kafka: dict, every_seconds: float = 15) -> None:
        self._targets = targets
        self._kafka = kafka
        self._every = every_seconds
        self._samples: deque[Sample] = deque(maxlen=max(8, int(300 / every_seconds)))

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=3) as http:
            while True:
                sample = Sample(time.monotonic())
                for name, url in self._targets.items():
                    sample.services[name] = await _scrape(http, f"{url}/metrics")
                try:
                    sample.lag = await consumer_lag(self._kafka)
                except Exception as exc:  # the broker is away: the dashboard says so, nothing more
                    log.warning("consumer lag unavailable", extra={"error": repr(exc)})
                for group, topics in sample.lag.items():
                    for topic, lag in topics.items():
                        CONSUMER_LAG.labels(group, topic).set(lag)
                self._samples.append(sample)
                await asyncio.sleep(self._every)

    def summary(self) -> dict:
        if not self._samples:
            return {"services": {}, "consumer_lag": {}, "sampled_seconds_ago": None}
        latest = self._samples[-1]
        earlier = next((s for s in self._samples if latest.at - s.at >= 55), None)
        services = {}
        for name, values in latest.services.items():
            if values is None:
                services[name] = {"up": False}
                continue
            entry: dict = {"up": True, **values}
            previous = earlier.services.get(name) if earlier else None
            for metric in RATES:
                for key in [k for k in values if k.startswith(metric)]:
                    if previous and key in previous:
                        minutes = (latest.at - earlier.at) / 60
                        entry[f"{key}_per_minute"] = round((values[key] - previous[key]) / minutes, 1)
            services[name] = entry
        return {
            "services": services,
            "consumer_lag": latest.lag,
            "sampled_seconds_ago": round(time.monotonic() - latest.at, 1),
        }


async def _scrape(http: httpx.AsyncClient, url: str) -> dict[str, float] | None:
    try:
        response = await http.get(url)
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return totals(response.text)


def totals(exposition: str) -> dict[str, float]:
    """The shown metrics of one scrape, summed over labels (or split by one label); ages are the
    oldest over labels."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(exposition):
        if family.name not in SHOWN:
            continue
        split = SHOWN[family.name]
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            key = family.name if split is None else f"{family.name}_{split}_{sample.labels.get(split, '')}"
            if family.name in OLDEST:
                found[key] = max(found.get(key, 0), sample.value)
            else:
                found[key] = found.get(key, 0) + sample.value
    return found


async def consumer_lag(kafka: dict) -> dict[str, dict[str, int]]:
    """Per Samordna consumer group and topic: records at the ends not yet committed by the group."""
    admin = AIOKafkaAdminClient(**kafka)
    consumer = AIOKafkaConsumer(**kafka, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        groups = sorted(g[0] for g in await admin.list_consumer_groups() if g[0].startswith(GROUP_PREFIX))
        lag: dict[str, dict[str, int]] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            for tp, offset in committed.items():
                topics = lag.setdefault(group, {})
                topics[tp.topic] = topics.get(tp.topic, 0) + max(0, ends[tp] - offset.offset)
        return lag
    finally:
        await consumer.stop()
        await admin.close()

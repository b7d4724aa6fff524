"""The worker of one FHIR subscription: a webhook worker (the same queue, leases, retries and
parking) whose deliveries are notification bundles, which first sends the handshake and, while
the subscription is active, a heartbeat whenever nothing was sent for its period.

    requested --handshake 2xx--> active --end passed--> off
        \\--handshake failed--> error --handshake 2xx (retried with backoff)--> active

Events queue up (and take their numbers) whatever the status; they are sent once it is active.
"""

import json
import logging
import time
from dataclasses import replace

import asyncpg

from contracts import webhooks as signing
from services.gateway.fhir.resources import FhirSubscription, Notified, notification_bundle
from services.gateway.fhir.store import PgFhirSubscriptions, is_over
from services.gateway.webhooks.dispatcher import DispatchConfig, EndpointWorker
from services.gateway.webhooks.queue import Claimed
from services.gateway.webhooks.sending import post
from services.gateway.webhooks.subscriptions import Endpoint
from services.gateway.webhooks.targets import GuardedClient
from services.runtime.fhir import FHIR_JSON

log = logging.getLogger(__name__)


class FhirWorker(EndpointWorker):
    in_order = True  # notifications go in event-number order, a retried one holding back the rest

    def __init__(
        self,
        pool: asyncpg.Pool,
        endpoint: Endpoint,
        config: DispatchConfig,
        clock,
        *,
        principal: str,
        base: str,
    ) -> None:
        super().__init__(pool, endpoint, config, clock)
        self._store = PgFhirSubscriptions(pool)
        self._principal = principal
        self._base = base
        self._subscription: FhirSubscription | None = None
        self._read_at = float("-inf")  # when the subscription was last read (monotonic)
        self._last_sent = time.monotonic()
        self._handshake_failures = 0
        self._next_handshake = 0.0

    async def _next(self, http: GuardedClient, limit: int) -> list[Claimed]:
        sub = await self._read()
        if sub is None:
            return []
        if is_over(sub, self._clock()):
            if sub.status != "off":
                await self._store.set_status(sub.id, "off", None)
                self._subscription = replace(sub, status="off")
            return []
        if sub.status in ("requested", "error") and not await self._handshake(http, sub):
            return []
        if sub.heartbeat_seconds and time.monotonic() - self._last_sent >= sub.heartbeat_seconds:
            # read afresh: the heartbeat tells how many events there are so far
            await self._notify(http, await self._read(fresh=True) or sub, "heartbeat")
        return await super()._next(http, limit)

    async def _read(self, fresh: bool = False) -> FhirSubscription | None:
        """The subscription, read again once a poll interval: only this worker changes its status
        (and keeps its copy with it), and a deleted one's worker is stopped by the dispatcher, so
        a read per notification sent would only cost a round trip each."""
        recent = time.monotonic() - self._read_at < self._config.poll_seconds
        if self._subscription is not None and recent and not fresh:
            return self._subscription
        try:
            self._subscription = await self._store.get(str(self._endpoint.subscription_id))
        except Exception as exc:  # deleted, or the database is away: nothing to send now
            log.warning("FHIR subscription could not be read", extra=self._ids() | {"error": type(exc).__name__})
            return None
        self._read_at = time.monotonic()
        return self._subscription

    async def _send(self, http: GuardedClient, claimed: Claimed) -> str | None:
        sub = self._subscription
        if sub is None or claimed.event_number is None or claimed.received_at is None:
            return "subscription not ready"  # retried: the next poll reads it again
        item = Notified(claimed.event_number, claimed.seq, claimed.delivery_seq, claimed.received_at, claimed.event)
        # the status as of this event: a retried notification is the same bundle
        as_of = replace(sub, status="active", events_since_start=claimed.event_number)
        body = notification_bundle(as_of, self._base, self._principal, "event-notification", self._clock(), [item])
        return await self._post(http, sub, body, event_id=claimed.event_id)

    async def _handshake(self, http: GuardedClient, sub: FhirSubscription) -> bool:
        """True once the endpoint took the handshake and the subscription is active."""
        if time.monotonic() < self._next_handshake:
            return False
        error = await self._notify(http, sub, "handshake")
        if error is None:
            await self._store.set_status(sub.id, "active", None)
            self._subscription = replace(sub, status="active", error=None)
            self._handshake_failures = 0
            log.info("FHIR subscription active", extra=self._ids())
            return True
        self._handshake_failures += 1
        self._next_handshake = time.monotonic() + self._config.retry.delay(self._handshake_failures)
        await self._store.set_status(sub.id, "error", f"handshake failed: {error}")
        self._subscription = replace(sub, status="error", error=f"handshake failed: {error}")
        return False

    async def _notify(self, http: GuardedClient, sub: FhirSubscription, kind: str) -> str | None:
        body = notification_bundle(sub, self._base, self._principal, kind, self._clock())
        error = await self._post(http, sub, body)
        if error is not None:
            log.warning(f"FHIR {kind} failed", extra=self._ids() | {"error": error})
        return error

    async def _post(self, http: GuardedClient, sub: FhirSubscription, bundle: dict, event_id: str = "") -> str | None:
        body = json.dumps(bundle, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(time.time())
        headers = dict(header.split(": ", 1) for header in sub.headers)
        headers |= {
            "Content-Type": FHIR_JSON,
            signing.SUBSCRIPTION_HEADER: str(sub.id),
            signing.TIMESTAMP_HEADER: str(timestamp),
            signing.SIGNATURE_HEADER: signing.sign(self._endpoint.secret, timestamp, body),
        }
        if event_id:
            headers[signing.EVENT_ID_HEADER] = event_id
        error = await post(http, self._endpoint.url, body, headers, self._config.timeout)
        if error is None:
            self._last_sent = time.monotonic()
        return error

    def _ids(self) -> dict:
        return {"subscription_id": str(self._endpoint.subscription_id)}


def fhir_worker_factory(principal: str, base: str):
    """What the dispatcher starts for a subscription of format 'fhir'."""

    def start(pool: asyncpg.Pool, endpoint: Endpoint, config: DispatchConfig, clock) -> FhirWorker:
        return FhirWorker(pool, endpoint, config, clock, principal=principal, base=base)

    return start

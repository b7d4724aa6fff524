"""The webhook dispatcher: one task per subscription, sending its due deliveries (see __init__)."""

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx

from services.gateway.settings import GatewaySettings
from services.gateway.webhooks.policy import RetryPolicy
from services.gateway.webhooks.queue import (
    Claimed,
    backlog,
    claim_due,
    enqueue_new,
    record_delivered,
    record_failed,
)
from services.gateway.webhooks.sending import send
from services.gateway.webhooks.subscriptions import Endpoint, endpoints
from services.gateway.webhooks.targets import GuardedTransport, TargetGuard, TargetPolicy
from services.runtime.metrics import WEBHOOK_BACKLOG

log = logging.getLogger(__name__)

_LEASE_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class DispatchConfig:
    retry: RetryPolicy
    timeout: float
    concurrency: int
    poll_seconds: float
    targets: TargetGuard  # where a delivery may connect (checked again at every connection)

    @classmethod
    def from_settings(cls, settings: GatewaySettings, principal: str) -> "DispatchConfig":
        return cls(
            RetryPolicy(
                settings.webhook_first_retry_seconds,
                settings.webhook_max_retry_seconds,
                timedelta(hours=settings.webhook_retry_hours),
            ),
            settings.webhook_timeout_seconds,
            settings.webhook_concurrency_per_endpoint,
            settings.webhook_poll_seconds,
            TargetGuard(TargetPolicy.from_settings(settings, principal)),
        )


class Dispatcher:
    """Keeps one `EndpointWorker` task running per subscription, starting and stopping them as
    subscriptions come and go, and publishes the backlog as a metric."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        principal: str,
        config: DispatchConfig,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        workers: Mapping[str, "WorkerFactory"] | None = None,
    ) -> None:
        self._pool = pool
        self._principal = principal
        self._config = config
        self._clock = clock
        # the worker of each subscription format: EndpointWorker unless another is given
        self._workers = dict(workers or {})

    async def run(self) -> None:
        workers: dict[uuid.UUID, asyncio.Task] = {}
        try:
            while True:
                try:
                    await self._reconcile(workers)
                    await self._publish_backlog()
                except Exception as exc:  # database away: keep the workers, look again
                    log.warning("webhook dispatcher could not read subscriptions", extra={"error": repr(exc)})
                await asyncio.sleep(self._config.poll_seconds)
        finally:
            await _cancel(workers.values())

    async def _reconcile(self, workers: dict[uuid.UUID, asyncio.Task]) -> None:
        current = await endpoints(self._pool)
        for sub_id, task in workers.items():
            if task.done() and not task.cancelled():
                log.error(
                    "webhook worker stopped; restarting it",
                    extra={"subscription_id": str(sub_id)},
                    exc_info=task.exception(),
                )
        gone = [sub_id for sub_id, task in workers.items() if sub_id not in current or task.done()]
        await _cancel([workers.pop(sub_id) for sub_id in gone])
        for sub_id, endpoint in current.items():
            if sub_id not in workers:
                factory = self._workers.get(endpoint.format, EndpointWorker)
                worker = factory(self._pool, endpoint, self._config, self._clock)
                workers[sub_id] = asyncio.create_task(worker.run(), name=f"webhook-{sub_id}")

    async def _publish_backlog(self) -> None:
        for status, count in (await backlog(self._pool)).items():
            WEBHOOK_BACKLOG.labels(self._principal, status).set(count)


class EndpointWorker:
    """Queues a subscription's new inbox rows and sends its due deliveries, at most
    `concurrency` at a time; runs until cancelled."""

    in_order = False  # True: one delivery at a time, each only after the one before it

    def __init__(
        self, pool: asyncpg.Pool, endpoint: Endpoint, config: DispatchConfig, clock: Callable[[], datetime]
    ) -> None:
        self._pool = pool
        self._endpoint = endpoint
        self._config = config
        self._clock = clock
        self._lease = config.timeout + _LEASE_MARGIN_SECONDS
        if self.in_order:
            self._config = replace(config, concurrency=1)

    async def run(self) -> None:
        in_flight: set[asyncio.Task] = set()
        limits = httpx.Limits(max_connections=self._config.concurrency)
        transport = GuardedTransport(self._config.targets, limits)
        async with httpx.AsyncClient(
            timeout=self._config.timeout, transport=transport, follow_redirects=False, trust_env=False
        ) as http:
            try:
                while True:
                    free = self._config.concurrency - len(in_flight)
                    for claimed in await self._next(http, free) if free else []:
                        task = asyncio.create_task(self._attempt(http, claimed))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                    if in_flight:
                        await asyncio.wait(
                            in_flight, timeout=self._config.poll_seconds, return_when=asyncio.FIRST_COMPLETED
                        )
                    else:
                        await asyncio.sleep(self._config.poll_seconds)
            finally:
                await _cancel(in_flight)

    async def _next(self, http: httpx.AsyncClient, limit: int) -> list[Claimed]:
        try:
            await enqueue_new(self._pool, self._endpoint.subscription_id)
            return await claim_due(self._pool, self._endpoint.subscription_id, limit, self._lease, self.in_order)
        except Exception as exc:  # database away: nothing claimed, the rows stay due
            log.warning(
                "webhook deliveries could not be claimed",
                extra={"subscription_id": str(self._endpoint.subscription_id), "error": repr(exc)},
            )
            return []

    async def _attempt(self, http: httpx.AsyncClient, claimed: Claimed) -> None:
        ids = {"subscription_id": str(self._endpoint.subscription_id), "seq": claimed.seq, "event_id": claimed.event_id}
        error = await self._send(http, claimed)
        try:
            if error is None:
                await record_delivered(self._pool, self._endpoint.subscription_id, claimed)
                log.info("webhook delivered", extra=ids | {"attempts": claimed.attempts})
                return
            retry_at = self._config.retry.next_attempt(claimed.attempts, claimed.first_attempt_at, self._clock())
            await record_failed(self._pool, self._endpoint.subscription_id, claimed, error, retry_at)
            outcome = "parked" if retry_at is None else "will retry"
            log.warning(
                f"webhook delivery failed; {outcome}", extra=ids | {"attempts": claimed.attempts, "error": error}
            )
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log.warning("webhook outcome could not be recorded", extra=ids | {"error": repr(exc)})

    async def _send(self, http: httpx.AsyncClient, claimed: Claimed) -> str | None:
        """Sends one delivery: None if the endpoint took it, else why not."""
        return await send(http, self._endpoint, claimed, self._config.timeout)


WorkerFactory = Callable[[asyncpg.Pool, Endpoint, DispatchConfig, Callable[[], datetime]], EndpointWorker]


async def _cancel(tasks) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

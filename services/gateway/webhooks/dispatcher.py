"""The webhook dispatcher: one task per subscription, sending its due deliveries (see __init__)."""

import asyncio
import contextlib
import functools
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import asyncpg

from services.gateway.settings import GatewaySettings
from services.gateway.webhooks.policy import RetryPolicy
from services.gateway.webhooks.queue import (
    Claimed,
    Db,
    Statistics,
    backlog,
    claim_due,
    enqueue_new,
    record_delivered,
    record_failed,
)
from services.gateway.webhooks.sending import send
from services.gateway.webhooks.subscriptions import Endpoint, endpoints
from services.gateway.webhooks.targets import GuardedClient, TargetGuard, TargetPolicy, default_ssl_context
from services.gateway.webhooks.wakeup import InboxWatch
from services.runtime.metrics import WEBHOOK_BACKLOG

log = logging.getLogger(__name__)

_LEASE_MARGIN_SECONDS = 30.0
_FINAL_MARK_SECONDS = 5.0


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
        workers: dict[uuid.UUID, tuple[EndpointWorker, asyncio.Task]] = {}

        def inbox_moved() -> None:
            for worker, _ in workers.values():
                worker.inbox_moved()

        watch = asyncio.create_task(InboxWatch(self._pool, inbox_moved, self._config.poll_seconds).run())
        try:
            while True:
                try:
                    await self._reconcile(workers)
                    await self._publish_backlog()
                except Exception as exc:  # database away: keep the workers, look again
                    log.warning("webhook dispatcher could not read subscriptions", extra={"error": repr(exc)})
                await asyncio.sleep(self._config.poll_seconds)
        finally:
            await _cancel([watch, *(task for _, task in workers.values())])

    async def _reconcile(self, workers: dict[uuid.UUID, tuple["EndpointWorker", asyncio.Task]]) -> None:
        current = await endpoints(self._pool)
        for sub_id, (_, task) in workers.items():
            if task.done() and not task.cancelled():
                log.error(
                    "webhook worker stopped; restarting it",
                    extra={"subscription_id": str(sub_id)},
                    exc_info=task.exception(),
                )
        gone = [sub_id for sub_id, (_, task) in workers.items() if sub_id not in current or task.done()]
        await _cancel([workers.pop(sub_id)[1] for sub_id in gone])
        for sub_id, endpoint in current.items():
            if sub_id not in workers:
                factory = self._workers.get(endpoint.format, EndpointWorker)
                worker = factory(self._pool, endpoint, self._config, self._clock)
                workers[sub_id] = (worker, asyncio.create_task(worker.run(), name=f"webhook-{sub_id}"))

    async def _publish_backlog(self) -> None:
        for status, count in (await backlog(self._pool)).items():
            WEBHOOK_BACKLOG.labels(self._principal, status).set(count)


class EndpointWorker:
    """Queues a subscription's new inbox rows and sends its due deliveries, at most
    `concurrency` at a time; runs until cancelled.

    It goes to the database only when there may be something to do: it queues when the inbox
    moved (the dispatcher's `inbox_moved`, from the inbox writer's NOTIFY) and claims while the
    last claim filled the slots it had, or after new rows were queued; every poll it does both
    anyway, for due retries and for a wake-up that was missed. It claims as many as are free in
    one statement (under load several sends end while it is in the database, so claims come in
    batches), and marks every delivery that ended since it last looked in one statement too. A
    delivery's mark so waits for one turn of the loop, well within its lease; if the gateway
    stops in between, the delivery is sent again (at least once)."""

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
        self._wake = asyncio.Event()  # an attempt ended, or the inbox moved
        self._inbox_moved = True  # queue before the first claim
        self._maybe_due = True  # a claim could find something
        self._delivered: list[Claimed] = []  # sent, not yet marked
        self._statistics = Statistics()  # the planner's, through a burst of queued rows

    def inbox_moved(self) -> None:
        """New inbox rows were committed: queue them now rather than at the next poll."""
        self._inbox_moved = True
        self._wake.set()

    async def run(self) -> None:
        in_flight: set[asyncio.Task] = set()
        async with contextlib.AsyncExitStack() as clients:
            # One HTTP client per slot, each with one kept-alive connection: the slots are the
            # concurrency limit, and a slot's connection stays its own.
            tls = default_ssl_context()
            slots = range(self._config.concurrency)
            idle = [await clients.enter_async_context(GuardedClient(self._config.targets, tls)) for _ in slots]

            def ended(http: GuardedClient, task: asyncio.Task) -> None:
                in_flight.discard(task)
                idle.append(http)
                self._wake.set()

            try:
                while True:
                    claimed = await self._next(idle[-1], len(idle)) if idle else []
                    for delivery in claimed:
                        http = idle.pop()
                        task = asyncio.create_task(self._attempt(http, delivery))
                        in_flight.add(task)
                        task.add_done_callback(functools.partial(ended, http))
                    if not claimed:  # else the next turn marks them, as a slot comes free
                        await self._mark_delivered()
                    await self._sleep()
            finally:
                await _cancel(in_flight)
                with contextlib.suppress(TimeoutError):  # stopping: what cannot be marked is sent again
                    async with asyncio.timeout(_FINAL_MARK_SECONDS):
                        await self._mark_delivered()

    async def _sleep(self) -> None:
        """Until an attempt ends or the inbox moves, or for the poll interval, after which it looks anyway."""
        try:
            # asyncio.timeout, not wait_for: in Python 3.11 wait_for can swallow a cancellation
            # that comes as the event is set, and the worker would then never stop
            async with asyncio.timeout(self._config.poll_seconds):
                await self._wake.wait()
        except TimeoutError:
            self._inbox_moved = self._maybe_due = True
        self._wake.clear()

    async def _next(self, http: GuardedClient, limit: int) -> list[Claimed]:
        """Queues what is new, marks what was delivered and claims up to `limit`, on one
        connection (each release of a pooled connection costs asyncpg a round trip of its own,
        to reset it); the marks and the claim are one statement."""
        if not (self._delivered or self._inbox_moved or self._maybe_due):
            return []
        try:
            async with self._pool.acquire() as conn:
                if self._inbox_moved:
                    # cleared before the statement, not set from its answer: a notification that
                    # comes while it runs is for rows it may not have seen, and must be kept
                    self._inbox_moved = False
                    try:
                        enqueued = await enqueue_new(conn, self._endpoint.subscription_id)
                    except BaseException:
                        self._inbox_moved = True
                        raise
                    self._inbox_moved |= enqueued.more
                    self._maybe_due |= enqueued.queued > 0
                    await self._statistics.queued(conn, enqueued.queued)
                if not self._maybe_due:
                    await self._mark_delivered(conn)
                    return []
                delivered, self._delivered = self._delivered, []
                try:
                    claimed = await claim_due(
                        conn, self._endpoint.subscription_id, limit, self._lease, self.in_order, delivered
                    )
                except BaseException:
                    self._delivered[:0] = delivered  # marked next time (the `attempts` guard holds)
                    raise
            self._log_delivered(delivered)
            self._maybe_due = len(claimed) == limit  # fewer: nothing else is due until something changes
            return claimed
        except Exception as exc:  # database away: nothing claimed, the rows stay due
            log.warning(
                "webhook deliveries could not be claimed",
                extra={"subscription_id": str(self._endpoint.subscription_id), "error": repr(exc)},
            )
            return []

    async def _mark_delivered(self, db: Db | None = None) -> None:
        if not self._delivered:
            return
        delivered, self._delivered = self._delivered, []
        try:
            await record_delivered(db or self._pool, self._endpoint.subscription_id, delivered)
        except Exception as exc:  # kept to be marked next time; the `attempts` guard holds if resent meanwhile
            self._delivered[:0] = delivered
            log.warning(
                "webhook outcomes could not be recorded",
                extra={"subscription_id": str(self._endpoint.subscription_id), "error": repr(exc)},
            )
            return
        self._log_delivered(delivered)

    def _log_delivered(self, delivered: list[Claimed]) -> None:
        for claimed in delivered:
            log.info("webhook delivered", extra=self._delivery_ids(claimed) | {"attempts": claimed.attempts})

    async def _attempt(self, http: GuardedClient, claimed: Claimed) -> None:
        error = await self._send(http, claimed)
        if error is None:
            self._delivered.append(claimed)  # marked by the loop, with the others that ended meanwhile
            return
        ids = self._delivery_ids(claimed)
        try:
            retry_at = self._config.retry.next_attempt(claimed.attempts, claimed.first_attempt_at, self._clock())
            await record_failed(self._pool, self._endpoint.subscription_id, claimed, error, retry_at)
            outcome = "parked" if retry_at is None else "will retry"
            log.warning(
                f"webhook delivery failed; {outcome}", extra=ids | {"attempts": claimed.attempts, "error": error}
            )
        except Exception as exc:  # the lease runs out and the delivery is tried again
            log.warning("webhook outcome could not be recorded", extra=ids | {"error": repr(exc)})

    def _delivery_ids(self, claimed: Claimed) -> dict:
        sub_id = str(self._endpoint.subscription_id)
        return {"subscription_id": sub_id, "seq": claimed.seq, "event_id": claimed.event_id}

    async def _send(self, http: GuardedClient, claimed: Claimed) -> str | None:
        """Sends one delivery: None if the endpoint took it, else why not."""
        return await send(http, self._endpoint, claimed, self._config.timeout)


WorkerFactory = Callable[[asyncpg.Pool, Endpoint, DispatchConfig, Callable[[], datetime]], EndpointWorker]


async def _cancel(tasks) -> None:
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

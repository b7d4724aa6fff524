"""The inbox's wake-up call: the inbox writer NOTIFYs at every commit that stored rows, and the
dispatcher LISTENs on one connection of its pool, so that a new inbox row is queued and sent at
once rather than at the next poll.

A notification can be missed — the listening connection drops, PostgreSQL restarts — so it only
hastens what the poll does anyway: the workers still look every `SAMORDNA_WEBHOOK_POLL_SECONDS`,
and one wake-up is sent whenever listening (re)starts, for rows committed while nobody listened.
"""

import asyncio
import logging
from collections.abc import Callable

import asyncpg

from services.gateway.inbox import INBOX_CHANNEL

log = logging.getLogger(__name__)

_CHECK_SECONDS = 30.0  # how often a quiet listening connection is asked whether it is still there


class InboxWatch:
    """Calls `on_moved()` whenever this gateway's inbox writer commits new rows; runs until cancelled."""

    def __init__(self, pool: asyncpg.Pool, on_moved: Callable[[], None], retry_seconds: float) -> None:
        self._pool = pool
        self._on_moved = on_moved
        self._retry_seconds = retry_seconds

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except Exception as exc:  # database away: the workers poll meanwhile; listen again later
                log.warning("inbox notifications not received; polling only", extra={"error": repr(exc)})
            await asyncio.sleep(self._retry_seconds)

    async def _listen(self) -> None:
        async with self._pool.acquire() as conn:
            schema = await conn.fetchval("SELECT current_schema()")
            lost = asyncio.Event()

            def notified(_conn, _pid, _channel, payload: str) -> None:
                if payload == schema:  # every gateway schema of the database shares the channel
                    self._on_moved()

            def terminated(_conn) -> None:
                lost.set()

            conn.add_termination_listener(terminated)
            await conn.add_listener(INBOX_CHANNEL, notified)
            try:
                self._on_moved()  # rows committed before this LISTEN took effect
                while not lost.is_set():
                    try:
                        async with asyncio.timeout(_CHECK_SECONDS):  # not wait_for (see the dispatcher's _sleep)
                            await lost.wait()
                    except TimeoutError:
                        await conn.fetchval("SELECT 1", timeout=_CHECK_SECONDS)
            finally:
                conn.remove_termination_listener(terminated)
                if not conn.is_closed():
                    await conn.remove_listener(INBOX_CHANNEL, notified)

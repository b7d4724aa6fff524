"""Background loops that a service cannot live without."""

import asyncio
import logging
import os
import signal
from collections.abc import Coroutine

log = logging.getLogger(__name__)


def supervise(name: str, coro: Coroutine) -> asyncio.Task:
    """Run `coro` as a task; if it dies, stop the whole process so that it is restarted whole.

    A gateway whose relay or a gate whose loop died silently would look alive and lose work.
    """
    task = asyncio.create_task(coro, name=name)

    def on_done(done: asyncio.Task) -> None:
        if done.cancelled():
            return
        log.critical("background task %s died; stopping the service", name, exc_info=done.exception())
        os.kill(os.getpid(), signal.SIGTERM)

    task.add_done_callback(on_done)
    return task


async def stop(*tasks: asyncio.Task) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

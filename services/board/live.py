"""Live updates: a counter that moves whenever the board's data changes, and a way to wait for it.

The web page listens (server-sent events) and fetches its rows again when the counter moves;
the stream itself carries no personal data, only the counter.
"""

import asyncio


class Changes:
    def __init__(self) -> None:
        self.version = 0
        self._moved = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        self._moved.set()
        self._moved = asyncio.Event()

    async def after(self, seen: int, timeout: float) -> int:
        """The version once it differs from `seen`, or the same after `timeout` seconds."""
        if self.version == seen:
            try:
                await asyncio.wait_for(self._moved.wait(), timeout)
            except TimeoutError:
                pass
        return self.version

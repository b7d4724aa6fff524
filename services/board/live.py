"""Live updates: per principal, a counter that moves whenever that principal's view of the board
changes, and a way to wait for it.

The web page listens (server-sent events) and fetches its rows again when its counter moves;
the stream itself carries no personal data, only the counter. The counter is the principal's
own: a change only others may see (an event between two other principals, a consent that
does not name it) moves nothing on its page, so the stream never tells it that something
crossed elsewhere, or was withheld from it.
"""

import asyncio
from collections import defaultdict
from collections.abc import Iterable


class Changes:
    def __init__(self) -> None:
        self._versions: dict[str, int] = defaultdict(int)
        self._moved: dict[str, asyncio.Event] = defaultdict(asyncio.Event)

    def version(self, principal: str) -> int:
        return self._versions[principal]

    def bump(self, principals: Iterable[str]) -> None:
        for principal in set(principals):
            self._versions[principal] += 1
            waiting = self._moved.pop(principal, None)  # those waiting hold it; later ones get a new one
            if waiting is not None:
                waiting.set()

    async def after(self, principal: str, seen: int, timeout: float) -> int:
        """The principal's version once it differs from `seen`, or the same after `timeout` seconds."""
        if self._versions[principal] == seen:
            try:
                await asyncio.wait_for(self._moved[principal].wait(), timeout)
            except TimeoutError:
                pass
        return self._versions[principal]

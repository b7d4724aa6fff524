"""What the board's service layer needs from the world, as Protocols: the store of what crossed
and of the consents (PostgreSQL in `store.py`, in memory in the unit tests' fakes), the keys that
open the sealed records it reads (`keys.py`), and the ops monitor's numbers."""

from collections.abc import Iterable, Sequence
from typing import Protocol

from services.board.domain import BoardEvent
from services.board.projection import ConsentChanged, Forwarded, Person
from services.board.statistics import ConsentSpan


class BoardStore(Protocol):
    async def record_forwarded(self, items: Sequence[Forwarded]) -> set[str]:
        """Keep what crossed; answers the principals whose view changed."""

    async def apply_consent_changes(self, changes: Sequence[ConsentChanged]) -> set[str]:
        """Apply the consents' changes; answers the principals whose view may have changed."""

    async def persons_visible_to(self, principal: str | None) -> list[Person]:
        """Every person on `principal`'s board (None: the whole area), with the events it may see."""

    async def consent_spans(self, principal: str | None) -> list[ConsentSpan]:
        """The consents naming `principal` (None: all), behind the statistics."""

    async def events_of(self, pseudonyms: Sequence[str], principal: str | None) -> list[BoardEvent]:
        """The persons' events `principal` may see (None: all), in time order."""

    async def forget_everything(self) -> None:
        """Empty the board, for a rebuild from the topics."""

    async def ready(self) -> bool: ...


class KeyRing(Protocol):
    async def keys(self, kids: Iterable[str]) -> dict[str, bytes]:
        """Those of the keys that hold sealed records (`contracts/sealing.py`) that still exist."""


class OpsNumbers(Protocol):
    def summary(self) -> dict:
        """Per service flows, decisions, dead letters, backlogs; lag per consumer group."""

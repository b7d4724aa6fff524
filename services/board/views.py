"""What the board shows, for the JSON API and the web page alike: rows with their alerts,
a person's timeline, and the statistics. Who sees what is decided here, by `visibility`:
a coordinator sees the persons whose consent names the coordinator's principal, each with
only the events its principal sent or was forwarded — the row, its alerts, its parties, its
timeline and the statistics are all folded from those alone. `ops` sees aggregates of the
whole area (statistics), never a person.

`BoardViews` is the board's service layer: the API (`api.py`) and the pages (`web.py`) both ask it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import cached_property

from services.board.alerts import Alert, AlertRules, ConsentFacts, alerts, unchanged_until
from services.board.domain import BoardEvent, BoardRow, fold
from services.board.errors import PersonNotOnBoard
from services.board.ports import BoardStore
from services.board.statistics import Period, RecordKey, statistics
from services.board.visibility import row_parties, visible_events
from services.runtime.auth import Caller, Role

SORTS = ("next_planned", "patient", "start")


@dataclass(frozen=True)
class RowView:
    handle: str  # the person's pseudonym: names the row in URLs, never the personnummer
    row: BoardRow
    alerts: list[Alert]
    parties: list[str]
    updated_at: datetime
    # what a layer makes of the view once and keeps with it (web.row_html: its markup)
    memo: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def next_planned(self) -> date | None:
        return self.row.planning[0].date if self.row.planning else None

    @cached_property
    def as_json(self) -> dict:
        """The row as the API answers it (api_models.BoardRowOut); made once per view, which the
        board keeps while the row holds (KeptRow)."""
        row = self.row
        return {
            "handle": self.handle,
            "patient": row.patient,
            "start": row.start.isoformat(),
            "goal": row.goal,
            "current": row.current,
            "ongoing": list(row.ongoing.values()),
            "planning": [{"date": p.date.isoformat(), "what": p.what} for p in row.planning],
            "next_planned": self.next_planned.isoformat() if self.next_planned else None,
            "alerts": [a.as_json for a in self.alerts],
            "parties": self.parties,
        }


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    label: str
    sender: str
    event_type: str
    details: dict


@dataclass(frozen=True)
class Folded:
    """What a principal's board holds of a person at one version of the person: the events the
    principal may see, the row folded from them, and the parties it may know of."""

    version: int
    events: list[BoardEvent]
    row: BoardRow
    parties: list[str]


@dataclass(frozen=True)
class KeptRow:
    """A person's row as shown at `since`, which it stays until `until` for the same folded
    person and consents: its alerts do (alerts.unchanged_until), and so does the day, which cuts
    the planning still ahead (`until` is never past the next midnight)."""

    version: int
    consents: tuple[ConsentFacts, ...]
    since: datetime
    until: datetime
    view: RowView


@dataclass
class RowCache:
    """The last folded person per (principal, pseudonym), kept while the store's version of the
    person (`Person.version`) stays, and the person's row as shown while, besides, the clock has
    not reached the next moment it may change (KeptRow); each listing keeps only the persons it
    listed. One per board process (`bootstrap.Deps`)."""

    folded: dict[str, dict[str, Folded]] = field(default_factory=dict)
    rows: dict[str, dict[str, KeptRow]] = field(default_factory=dict)


@dataclass(frozen=True)
class BoardViews:
    store: BoardStore
    rules: AlertRules
    record_key: RecordKey  # the statistics' secret cell keys
    clock: Callable[[], datetime]
    cache: RowCache | None = None  # none: every request folds every person again

    async def board_rows(
        self, principal: str, *, alert: str | None = None, party: str | None = None, sort: str = "next_planned"
    ) -> list[RowView]:
        now = self.clock()
        kept = self.cache.rows.get(principal, {}) if self.cache else {}
        views, listed = [], {}
        for pseudonym, folded, consents in await self._folded(principal):
            if party and party not in folded.parties:
                continue
            shown = self._row(pseudonym, kept.get(pseudonym), folded, consents, now)
            if folded.version:  # a store that keeps no versions (0): nothing is kept by them
                listed[pseudonym] = shown
            if alert and not any(a.kind == alert for a in shown.view.alerts):
                continue
            views.append(shown.view)
        if self.cache is not None and party is None:
            self.cache.rows[principal] = listed
        return sorted(views, key=_sort_key(sort))

    def _row(self, pseudonym: str, kept: KeptRow | None, folded: Folded, consents: list, now: datetime) -> KeptRow:
        """The person's row at `now`: the one kept, if nothing it follows from has changed."""
        held = tuple(consents)
        same = kept and kept.version == folded.version != 0 and kept.consents == held
        if same and kept.since <= now < kept.until:
            return kept
        until = unchanged_until(folded.events, consents, self.rules, now)
        row = replace(folded.row, planning=[p for p in folded.row.planning if p.date >= now.date()])
        found = alerts(folded.events, consents, self.rules, now)
        view = RowView(pseudonym, row, found, folded.parties, folded.events[-1].time)
        return KeptRow(folded.version, held, now, until, view)

    async def timeline(self, principal: str, handle: str) -> tuple[BoardRow, list[TimelineEntry]]:
        """The person's events, newest first, if the person is on the principal's board; else
        PersonNotOnBoard."""
        persons = await self._persons(principal)
        events = next((events for pseudonym, events, _ in persons if pseudonym == handle), None)
        if events is None:
            raise PersonNotOnBoard()
        entries = [TimelineEntry(e.time, e.label, e.sender, e.type, e.data) for e in reversed(events)]
        return fold(events), entries

    async def statistics(self, caller: Caller, period: Period | None = None) -> dict:
        """A coordinator's statistics cover the persons shared with its principal and the events it
        may see; ops sees the whole area. The last 12 months unless a period is asked for."""
        scope = None if caller.role is Role.OPS else caller.principal
        spans = await self.store.consent_spans(scope)
        events = visible_events(scope, await self.store.events_of(sorted({s.person for s in spans}), scope))
        report = statistics(spans, events, self.clock().date(), self.record_key, period=period)
        return {"scope": scope or "all", **report}

    async def _persons(self, principal: str) -> list[tuple[str, list[BoardEvent], list]]:
        """(handle, visible events, consents naming the principal) of every person on its board."""
        return [(handle, folded.events, consents) for handle, folded, consents in await self._folded(principal)]

    async def _folded(self, principal: str) -> list[tuple[str, Folded, list]]:
        """(handle, the person folded, consents naming the principal) of every person on its board;
        a person whose version has not moved since the last listing is not folded again."""
        kept = self.cache.folded.get(principal, {}) if self.cache else {}
        found, listed = [], {}
        for person in await self.store.persons_visible_to(principal):
            folded = kept.get(person.pseudonym)
            if folded is None or person.version is None or folded.version != person.version:
                events = visible_events(principal, person.events)
                if not events:  # a person is on the board only with something the principal may see
                    continue
                folded = Folded(person.version or 0, events, fold(events), row_parties(principal, events))
            if person.version is not None:
                listed[person.pseudonym] = folded
            found.append((person.pseudonym, folded, person.consents))
        if self.cache is not None:
            self.cache.folded[principal] = listed
        return found


def _sort_key(sort: str):
    if sort == "patient":
        return lambda v: v.row.patient
    if sort == "start":
        return lambda v: (v.row.start, v.row.patient)
    return lambda v: (v.next_planned is None, v.next_planned or date.max, v.row.patient)

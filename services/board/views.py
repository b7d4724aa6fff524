"""What the board shows, for the JSON API and the web page alike: rows with their alerts,
a person's timeline, and the statistics. Who sees what is decided here, by `visibility`:
a coordinator sees the persons whose consent names the coordinator's principal, each with
only the events its principal sent or was forwarded — the row, its alerts, its parties, its
timeline and the statistics are all folded from those alone. `ops` sees aggregates of the
whole area (statistics), never a person.
"""

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from services.board import store
from services.board.alerts import Alert, AlertRules, alerts
from services.board.domain import BoardRow, fold
from services.board.statistics import ConsentSpan, RecordKey, statistics
from services.board.visibility import row_parties, visible_events

SORTS = ("next_planned", "patient", "start")


@dataclass(frozen=True)
class RowView:
    handle: str  # the person's pseudonym: names the row in URLs, never the personnummer
    row: BoardRow
    alerts: list[Alert]
    parties: list[str]
    updated_at: datetime

    @property
    def next_planned(self) -> date | None:
        return self.row.planning[0].date if self.row.planning else None


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    label: str
    sender: str
    event_type: str
    details: dict


async def board_rows(
    conn: asyncpg.Connection,
    principal: str,
    rules: AlertRules,
    now: datetime,
    *,
    alert: str | None = None,
    party: str | None = None,
    sort: str = "next_planned",
) -> list[RowView]:
    views = []
    for pseudonym, events, consents in await _persons(conn, principal):
        row = fold(events)
        row.planning = [p for p in row.planning if p.date >= now.date()]
        found = alerts(events, consents, rules, now)
        parties = row_parties(principal, events)
        if alert and not any(a.kind == alert for a in found):
            continue
        if party and party not in parties:
            continue
        views.append(RowView(pseudonym, row, found, parties, events[-1].time))
    return sorted(views, key=_sort_key(sort))


def _sort_key(sort: str):
    if sort == "patient":
        return lambda v: v.row.patient
    if sort == "start":
        return lambda v: (v.row.start, v.row.patient)
    return lambda v: (v.next_planned is None, v.next_planned or date.max, v.row.patient)


async def timeline(
    conn: asyncpg.Connection, principal: str, handle: str
) -> tuple[BoardRow, list[TimelineEntry]] | None:
    """The person's events, newest first, if the person is on the principal's board; else None."""
    events = next((events for pseudonym, events, _ in await _persons(conn, principal) if pseudonym == handle), None)
    if events is None:
        return None
    entries = [TimelineEntry(e.time, e.label, e.sender, e.type, e.data) for e in reversed(events)]
    return fold(events), entries


async def follow_up(conn: asyncpg.Connection, principal: str | None, today: date, record_key: RecordKey) -> dict:
    """The statistics of the persons shared with `principal`, counting only the events it may see
    (None: the whole area)."""
    spans = [
        ConsentSpan(r["person_pseudonym"], r["person_id"], r["valid_from"], r["valid_until"])
        for r in await store.consents_overlapping(conn, principal)
    ]
    events = visible_events(principal, await store.events_of(conn, sorted({s.person for s in spans}), principal))
    return statistics(spans, events, today, record_key)


async def _persons(conn: asyncpg.Connection, principal: str) -> list[tuple[str, list, list]]:
    """(handle, visible events, consents naming the principal) of every person on its board."""
    found = []
    for person in await store.persons_visible_to(conn, principal):
        events = visible_events(principal, person.events)
        if events:  # a person is on the board only with something the principal may see
            found.append((person.pseudonym, events, person.consents))
    return found

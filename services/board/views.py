"""What the board shows, for the JSON API and the web page alike: rows with their alerts,
a person's timeline, and the statistics. One place decides who sees what:
a coordinator sees the persons whose consent names the coordinator's principal; `ops` sees
aggregates only (statistics), never a person.
"""

from dataclasses import dataclass
from datetime import date, datetime

import asyncpg

from services.board import store
from services.board.alerts import Alert, AlertRules, alerts
from services.board.domain import BoardRow, fold
from services.board.statistics import ConsentSpan, statistics

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
    for person in await store.persons_visible_to(conn, principal):
        row = fold(person.events)
        row.planning = [p for p in row.planning if p.date >= now.date()]
        found = alerts(person.events, person.consents, rules, now)
        parties = sorted({p for e in person.events for p in e.parties} | {principal})
        if alert and not any(a.kind == alert for a in found):
            continue
        if party and party not in parties:
            continue
        views.append(RowView(person.pseudonym, row, found, parties, person.events[-1].time))
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
    person = next((p for p in await store.persons_visible_to(conn, principal) if p.pseudonym == handle), None)
    if person is None:
        return None
    entries = [TimelineEntry(e.time, e.label, e.sender, e.type, e.data) for e in reversed(person.events)]
    return fold(person.events), entries


async def follow_up(conn: asyncpg.Connection, principal: str | None, today: date) -> dict:
    spans = [
        ConsentSpan(r["person_pseudonym"], r["person_id"], r["valid_from"], r["valid_until"])
        for r in await store.consents_overlapping(conn, principal)
    ]
    events = await store.events_of(conn, sorted({s.person for s in spans}))
    return statistics(spans, events, today)

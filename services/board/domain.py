"""The samordningstavla (docs/sources.md): one row per person, folded from events that passed the gate.

Columns: Patient, Start, Mål/syfte, Nuläge, Pågående insatser, Planering.
Pure functions only; the store and the API live elsewhere.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from contracts import spec_for
from contracts.principals import display_name


@dataclass(frozen=True)
class BoardEvent:
    type: str
    sender: str
    person_id: str
    time: datetime
    data: dict[str, Any]
    event_id: str = ""
    parties: tuple[str, ...] = ()  # the sender and every principal the event crossed to

    # looked up once per event: the alerts of every row on a board read them many times a request
    @cached_property
    def name(self) -> str:
        return spec_for(self.type).name

    @cached_property
    def label(self) -> str:
        return spec_for(self.type).label_sv


@dataclass(frozen=True)
class PlanItem:
    date: date
    what: str


@dataclass
class BoardRow:
    patient: str
    start: date
    goal: str | None = None
    current: str | None = None
    ongoing: dict[str, str] = field(default_factory=dict)
    planning: list[PlanItem] = field(default_factory=list)


def fold(events: list[BoardEvent]) -> BoardRow:
    """The person's row from the person's events, oldest first."""
    first = events[0]
    row = BoardRow(patient=format_person_id(first.person_id), start=first.time.date())
    for event in events:
        _apply(row, event)
    row.planning.sort(key=lambda item: item.date)
    return row


def _apply(row: BoardRow, event: BoardEvent) -> None:
    data, who = event.data, display_name(event.sender)
    if not event.name.startswith("receipt."):  # a receipt is about a message, not about the person's care
        row.current = f"{event.label} ({who}, {event.time.date().isoformat()})"
    match event.name:
        case "contact.opened":
            row.start = min(row.start, _date(data["opened_on"]))
        case "treatment.started":
            row.start = min(row.start, _date(data["started_on"]))
            row.ongoing[f"treatment:{data['treatment_id']}"] = f"{human_kind(data['treatment_kind'])} ({who})"
            row.goal = row.goal or data.get("goal")
        case "treatment.ended":
            row.ongoing.pop(f"treatment:{data['treatment_id']}", None)
        case "intervention.decided":
            row.ongoing[f"intervention:{data['intervention_id']}"] = f"{human_kind(data['intervention_kind'])} ({who})"
        case "intervention.ending":
            _plan(row, data["ends_on"], f"{human_kind(data['intervention_kind'])} upphör")
        case "intervention.ended":
            row.ongoing.pop(f"intervention:{data['intervention_id']}", None)
        case "sip.plan_updated":
            row.goal = "; ".join(data["goals"]) or row.goal
            row.planning = [p for p in row.planning if not p.what.startswith("SIP")]
            if data.get("next_follow_up"):
                _plan(row, data["next_follow_up"], "SIP-uppföljning")
        case "sip.requested":
            _plan(row, data["meeting_at"], "SIP-möte")
        case "discharge.planned":
            _plan(row, data["expected_date"], f"Planerad utskrivning ({data['ward']})")


def _plan(row: BoardRow, when: str, what: str) -> None:
    row.planning.append(PlanItem(_date(when), what))


def _date(value: str) -> date:
    return date.fromisoformat(value[:10])


def human_kind(code: str) -> str:
    return {
        "laro": "LARO",
        "boendestod": "Boendestöd",
        "behandling": "Behandling",
        "sysselsattning": "Sysselsättning",
        "ekonomiskt_bistand": "Ekonomiskt bistånd",
    }.get(code, code.replace("_", " ").capitalize())


def format_person_id(person_id: str) -> str:
    """19121212-1212 from 191212121212, as Swedish staff write it."""
    return f"{person_id[:8]}-{person_id[8:]}"

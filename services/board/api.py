"""HTTP routes of the board."""

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.board import store
from services.board.domain import fold
from services.runtime.auth import Caller, Role, require

router = APIRouter(prefix="/v1")


class PlanEntry(BaseModel):
    date: str
    what: str


class AlertEntry(BaseModel):
    kind: str
    text: str
    since: str
    event_id: str | None


class Row(BaseModel):
    patient: str
    start: str
    goal: str | None
    current: str | None
    ongoing: list[str]
    planning: list[PlanEntry]
    alerts: list[AlertEntry]


COLUMNS = {
    "patient": "Patient",
    "start": "Start",
    "goal": "Mål/syfte",
    "current": "Nuläge",
    "ongoing": "Pågående insatser",
    "planning": "Planering",
}


@router.get("/board")
async def board(request: Request, caller: Caller = Depends(require(Role.COORDINATOR))) -> dict:
    async with request.app.state.pool.acquire() as conn:
        by_person = await store.events_visible_to(conn, caller.principal)
    rows = [fold(events) for events in by_person.values()]
    return {
        "columns": COLUMNS,
        "rows": [
            Row(
                patient=row.patient,
                start=row.start.isoformat(),
                goal=row.goal,
                current=row.current,
                ongoing=list(row.ongoing.values()),
                planning=[PlanEntry(date=p.date.isoformat(), what=p.what) for p in row.planning],
                alerts=[
                    AlertEntry(kind=a.kind, text=a.text, since=a.since.isoformat(), event_id=a.event_id)
                    for a in row.alerts.values()
                ],
            )
            for row in sorted(rows, key=lambda r: r.patient)
        ],
    }

"""The board's JSON API: rows with alerts, a person's timeline, follow-up statistics.

Persons are named by their handle (a pseudonym) in URLs, never by personnummer.
"""

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic_core import to_json

from services.board import api_models as models
from services.board.alerts import LABELS
from services.board.deps import DepsDep, OpsDep, ViewsDep
from services.board.statistics import Period, as_csv, parse_period
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller, Role, require
from services.runtime.openapi import problems

router = APIRouter(prefix="/v1")
coordinator = require(Role.COORDINATOR)
aggregates = require(Role.COORDINATOR, Role.OPS)

COLUMNS = {
    "patient": "Patient",
    "start": "Start",
    "goal": "Mål/syfte",
    "current": "Nuläge",
    "ongoing": "Pågående insatser",
    "planning": "Planering",
}


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


AlertKind = Literal[tuple(LABELS)]  # type: ignore[valid-type]


@router.get("/board", response_model=models.Board)
async def board(
    views: ViewsDep,
    deps: DepsDep,
    alert: AlertKind | None = Query(None, description="only rows with this alert"),
    party: str | None = Query(None, description="only persons shared with this principal"),
    sort: Literal["next_planned", "patient", "start"] = Query("next_planned"),
    caller: Caller = Depends(coordinator),
) -> Response:
    rows = await views.board_rows(caller.principal, alert=alert, party=party, sort=sort)
    who = Accessor.of_token(caller)
    await deps.access_log.record([Access(who, "board.rows", v.handle) for v in rows])
    # each row's `as_json` is the documented shape (models.Board, held by the tests), kept with the
    # row: serialised as it is, not validated again (for 2 000 rows a fifth of the request's CPU)
    body = {"columns": COLUMNS, "alert_kinds": LABELS, "rows": [v.as_json for v in rows]}
    return Response(to_json(body), media_type="application/json")


@router.get(
    "/board/persons/{handle}",
    response_model=models.Timeline,
    responses=problems(404, s404="the person is not on the caller's board"),
)
async def person_timeline(views: ViewsDep, deps: DepsDep, handle: str, caller: Caller = Depends(coordinator)) -> dict:
    """The person's timeline; PersonNotOnBoard (404) if the person is not on the caller's board."""
    row, entries = await views.timeline(caller.principal, handle)
    who = Accessor.of_token(caller)
    await deps.access_log.record([Access(who, "board.timeline", handle, {"events": len(entries)})])
    return {
        "patient": row.patient,
        "timeline": [
            {"time": e.time.isoformat(), "label": e.label, "sender": e.sender, "type": e.event_type, "data": e.details}
            for e in entries
        ],
    }


def period(
    deps: DepsDep,
    first: str | None = Query(None, alias="from", description="the first month, YYYY-MM (default: 11 before `to`)"),
    last: str | None = Query(None, alias="to", description="the last month, YYYY-MM (default: this month)"),
) -> Period:
    """The report's period; 422 naming `from` or `to` when it is not whole past months, in order, at most 36."""
    return parse_period(first, last, deps.clock().date())


PeriodDep = Annotated[Period, Depends(period)]
AggregatesCaller = Annotated[Caller, Depends(aggregates)]  # first in a route: who asks, before what is asked
STATISTICS_PROBLEMS = problems(422, s422="`from` or `to` is not a month of the past, or the period is not one")


@router.get("/statistics", response_model=models.Statistics, responses=STATISTICS_PROBLEMS)
async def statistics(caller: AggregatesCaller, views: ViewsDep, chosen: PeriodDep) -> dict:
    return await views.statistics(caller, chosen)


@router.get("/statistics.csv", response_class=CsvResponse, responses=STATISTICS_PROBLEMS)
async def statistics_csv(caller: AggregatesCaller, views: ViewsDep, chosen: PeriodDep) -> CsvResponse:
    return CsvResponse(
        as_csv(await views.statistics(caller, chosen)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="samordna-statistik.csv"'},
    )


@router.get("/ops", response_model=models.OpsSummary)
async def ops_dashboard(ops: OpsDep, caller: Caller = Depends(require(Role.OPS))) -> dict:
    """Per service: events, gate decisions, dead letters, backlogs, overdue receipts; lag per consumer group."""
    return ops.summary()

"""The board's web page, in Swedish, for a coordinator at a desk: the samordningstavla, a person's
timeline and the follow-up statistics, rendered on the server from `views`.

Login is the coordinator's bearer token, pasted once and then kept in an HttpOnly, SameSite=Strict
cookie. Rows are named by handle (a pseudonym) in URLs, never by personnummer. Live updates: `/live`
is a stream of server-sent events carrying only the caller's principal's version number (it moves
only on changes that principal may see); the page then fetches its rows again from `/rader` with
the same filters.
"""

from datetime import UTC
from pathlib import Path
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import StreamingResponse

from contracts.principals import display_name
from services.board import api
from services.board.alerts import LABELS
from services.board.deps import COOKIE, ChangesDep, OpsDep, PageCaller, TokensDep, ViewsDep
from services.board.errors import PersonNotOnBoard
from services.board.statistics import SMALLEST_SHOWN, as_csv
from services.runtime.auth import Caller, Role

HERE = Path(__file__).parent
LIVE_WAIT_SECONDS = 15  # one wait per response, so that a stopping server never waits long on a stream
SORTS = {"next_planned": "Nästa planerade datum", "patient": "Patient", "start": "Start"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

try:
    LOCAL_TIME = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # a machine without tzdata still shows the page, in UTC
    LOCAL_TIME = UTC

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["who"] = display_name
templates.env.filters["when"] = lambda t: t.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(HEADERS)
    return response


def login_page(request: Request, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    return render(request, "login.html", status_code, error=error)


def not_for_ops(request: Request, caller: Caller) -> HTMLResponse:
    return render(request, "ops_only.html", 403, caller=caller)


@router.post("/logga-in")
async def log_in(request: Request, tokens: TokensDep) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = form.get("token", [""])[0].strip()
    caller = tokens.caller_for(token) if token else None
    if caller is None or caller.role not in (Role.COORDINATOR, Role.OPS):
        return login_page(request, "Nyckeln gäller inte för tavlan. Använd din samordnarnyckel.", 401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logga-ut")
async def log_out() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/")
async def board_page(
    request: Request, caller: PageCaller, views: ViewsDep, changes: ChangesDep,
    alert: str = "", party: str = "", sort: str = "next_planned",
) -> Response:  # fmt: skip
    if caller is None:
        return login_page(request)
    if caller.role is Role.OPS:
        return RedirectResponse("/drift", status_code=303)
    version = changes.version(caller.principal)  # read first: a change during the query shows up as a newer one
    filters = _filters(alert, party, sort)
    rows = await views.board_rows(caller.principal, **filters)
    parties = sorted({p for v in rows for p in v.parties} | ({filters["party"]} if filters["party"] else set()))
    return render(
        request, "board.html", caller=caller, rows=rows, version=version, filters=filters,
        alert_kinds=LABELS, sorts=SORTS, parties=[p for p in parties if p != caller.principal],
        columns=api.COLUMNS.values(),
    )  # fmt: skip


@router.get("/rader")
async def board_fragment(
    request: Request, caller: PageCaller, views: ViewsDep, alert: str = "", party: str = "", sort: str = "next_planned"
) -> Response:
    """The table's rows alone, for the page to swap in when the board changes."""
    if caller is None:
        return PlainTextResponse("Inte inloggad", status_code=401, headers=HEADERS)
    if caller.role is not Role.COORDINATOR:
        return PlainTextResponse("Personer visas inte för drift", status_code=403, headers=HEADERS)
    rows = await views.board_rows(caller.principal, **_filters(alert, party, sort))
    return render(request, "rows.html", rows=rows, columns=api.COLUMNS.values())


@router.get("/person/{handle}")
async def person_page(request: Request, handle: str, caller: PageCaller, views: ViewsDep) -> Response:
    if caller is None:
        return login_page(request, status_code=401)
    if caller.role is not Role.COORDINATOR:
        return not_for_ops(request, caller)
    try:
        row, entries = await views.timeline(caller.principal, handle)
    except PersonNotOnBoard:
        return render(request, "not_found.html", 404, caller=caller)
    return render(request, "person.html", caller=caller, row=row, entries=entries, columns=api.COLUMNS)


@router.get("/statistik")
async def statistics_page(request: Request, caller: PageCaller, views: ViewsDep) -> Response:
    if caller is None:
        return login_page(request, status_code=401)
    stats = await views.statistics(caller)
    return render(request, "statistics.html", caller=caller, stats=stats, smallest_shown=SMALLEST_SHOWN)


@router.get("/drift")
async def ops_page(request: Request, caller: PageCaller, ops: OpsDep) -> Response:
    """The ops dashboard: per service flows, decisions, dead letters, backlogs; lag per consumer group."""
    if caller is None:
        return login_page(request, status_code=401)
    if caller.role is not Role.OPS:
        return render(request, "not_found.html", 404, caller=caller)
    return render(request, "ops.html", caller=caller, ops=ops.summary())


@router.get("/statistik.json")
async def statistics_json(caller: PageCaller, views: ViewsDep) -> Response:
    """What `/v1/statistics` answers, for the logged-in browser (which holds a cookie, not a bearer header)."""
    if caller is None:
        return PlainTextResponse("Inte inloggad", status_code=401, headers=HEADERS)
    return JSONResponse(await views.statistics(caller), headers=HEADERS)


@router.get("/statistik.csv")
async def statistics_csv(caller: PageCaller, views: ViewsDep) -> Response:
    if caller is None:
        return PlainTextResponse("Inte inloggad", status_code=401, headers=HEADERS)
    return PlainTextResponse(
        as_csv(await views.statistics(caller)),
        media_type="text/csv; charset=utf-8",
        headers={**HEADERS, "Content-Disposition": 'attachment; filename="samordna-statistik.csv"'},
    )


@router.get("/live")
async def live(request: Request, caller: PageCaller, changes: ChangesDep, v: int | None = None) -> Response:
    """Server-sent events: the board's version once it differs from the one the page has.

    The page names its version in `v`; on reconnecting, the browser sends the last event id instead.
    Each response waits once and ends; EventSource reconnects by itself (after `retry` ms).
    """
    if caller is None or caller.role is not Role.COORDINATOR:
        return PlainTextResponse("Inte inloggad som samordnare", status_code=401, headers=HEADERS)
    principal = caller.principal
    seen = _int(request.headers.get("last-event-id"), v if v is not None else changes.version(principal))

    async def stream():
        yield "retry: 1000\n\n"
        version = await changes.after(principal, seen, timeout=LIVE_WAIT_SECONDS)
        yield f"id: {version}\ndata: {version}\n\n" if version != seen else ": inget nytt\n\n"

    return StreamingResponse(stream(), media_type="text/event-stream", headers={**HEADERS, "X-Accel-Buffering": "no"})


def _filters(alert: str, party: str, sort: str) -> dict:
    """The page's filters, with anything unknown read as no filter (a page does not answer 422)."""
    return {
        "alert": alert if alert in LABELS else None,
        "party": party or None,
        "sort": sort if sort in SORTS else "next_planned",
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default

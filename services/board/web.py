"""The board's web page, in Swedish, for a coordinator at a desk: the samordningstavla, a person's
timeline and the follow-up statistics, rendered on the server from `views`.

Staff sign in through their organisation's identity provider (`signin.py`); the cookie holds only
the key of a server-side session (`sessions.py`). Every page answers `Cache-Control: no-store`,
every form that changes something carries the session's CSRF token, and every person shown is
written to the access log (who, unit, when, which person by pseudonym, what). Rows are named by
handle (a pseudonym) in URLs, never by personnummer. Live updates: `/live`
is a stream of server-sent events carrying only the caller's principal's version number (it moves
only on changes that principal may see); the page then fetches its rows again from `/rader` with
the same filters.
"""

from datetime import UTC
from pathlib import Path
from secrets import compare_digest
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import StreamingResponse

from contracts.principals import display_name
from services.board import api
from services.board.alerts import LABELS
from services.board.charts import SMALL_NOTE, charts, svg
from services.board.deps import (
    ChangesDep,
    DepsDep,
    OpsDep,
    PageCaller,
    PageSession,
    PageStaff,
    ViewsDep,
    accessor_of,
    get_deps,
)
from services.board.errors import InvalidPeriod, PersonNotOnBoard
from services.board.sessions import Ended, Session, csrf_matches
from services.board.statistics import SMALLEST_SHOWN, as_csv, parse_period
from services.board.views import RowView
from services.runtime.access_log import Access
from services.runtime.auth import Caller, Role
from services.runtime.oidc import Staff

HERE = Path(__file__).parent
LIVE_WAIT_SECONDS = 15  # one wait per response, so that a stopping server never waits long on a stream
SORTS = {"next_planned": "Nästa planerade datum", "patient": "Patient", "start": "Start"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own forms
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}

try:
    LOCAL_TIME = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # a machine without tzdata still shows the page, in UTC
    LOCAL_TIME = UTC

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["who"] = display_name
templates.env.filters["svg"] = svg
templates.env.filters["when"] = lambda t: t.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")
templates.env.filters["day"] = lambda t: t.astimezone(LOCAL_TIME).date().isoformat()


def row_html(view: RowView) -> Markup:
    """A board row's markup (row.html), made once per view: the board keeps a row's view while
    nothing it shows changes (views.KeptRow), and 2 000 rows rendered anew took most of a page."""
    html = view.memo.get("html")
    if html is None:
        html = view.memo["html"] = Markup(templates.env.get_template("row.html").render(v=view))  # noqa: S704 autoescaped
    return html


templates.env.filters["row_html"] = row_html


def static_files() -> StaticFiles:
    return StaticFiles(directory=HERE / "static")


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    session = getattr(request.state, "page_session", None)
    context.setdefault("csrf", session.data.get("csrf") if session else None)
    context.setdefault("staff", Staff.from_dict(session.data["staff"]) if session else None)
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(HEADERS)
    response.headers["Content-Security-Policy"] = _csp(request)
    return response


def _csp(request: Request) -> str:
    """The pages' policy; the logout form's redirect goes on to the provider (RP-initiated logout),
    and a browser holds a form's redirects to `form-action` too."""
    origins = sorted({_origin(p.config.issuer) for p in get_deps(request).sign_in.providers.values()})
    policy = HEADERS["Content-Security-Policy"]
    return policy.replace("form-action 'self'", " ".join(["form-action 'self'", *origins])) if origins else policy


ENDED = {
    Ended.IDLE: "Du har varit inaktiv för länge och har loggats ut. Logga in igen.",
    Ended.ABSOLUTE: "Din inloggning har gått ut. Logga in igen.",
}


def login_page(request: Request, deps, error: str | None = None, status_code: int = 200) -> HTMLResponse:
    ended = getattr(request.state, "session_ended", None)
    providers = list(deps.sign_in.providers.values())
    return render(request, "login.html", status_code, error=error, notice=ENDED.get(ended), providers=providers)


def not_for_ops(request: Request, caller: Caller) -> HTMLResponse:
    return render(request, "ops_only.html", 403, caller=caller)


def public_base(request: Request) -> str:
    """The board's address as the browser sees it (SAMORDNA_PUBLIC_URL, else what the request says)."""
    configured = get_deps(request).settings.public_url
    return configured or str(request.base_url).rstrip("/")


async def form_if_csrf_ok(request: Request, session: Session | None) -> dict[str, list[str]] | None:
    """The posted form, if it came from one of our pages in this session; else None.

    The token is the session's own (a synchronizer token); a browser that names an Origin must
    also name ours. A cross-site post has neither, whatever the cookie's SameSite says.
    """
    origin = request.headers.get("origin")
    if origin not in (None, "null") and not compare_digest(_origin(origin), _origin(public_base(request))):
        return None
    form = parse_qs((await request.body()).decode(errors="replace"))
    return form if csrf_matches(session, form.get("csrf", [""])[0]) else None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def csrf_refused(request: Request, deps) -> HTMLResponse:
    return render(request, "csrf_refused.html", 403)


def refused(request: Request, session: Session | None, caller: Caller | None, deps) -> Response | None:
    """The answer for someone who may not use a coordinator's page (not signed in, or ops), else None."""
    if caller is None:
        return login_page(request, deps, status_code=401)
    request.state.page_session = session
    if caller.role is not Role.COORDINATOR:
        return not_for_ops(request, caller)
    return None


async def posted_form(request: Request, session: Session | None, deps) -> dict[str, list[str]] | Response:
    """The posted form if its CSRF checks pass (form_if_csrf_ok), else the page that refuses it."""
    if (form := await form_if_csrf_ok(request, session)) is None:
        return csrf_refused(request, deps)
    return form


async def coordinator_form(
    request: Request, session: Session | None, caller: Caller | None, deps
) -> dict[str, list[str]] | Response:
    """A coordinator's posted form: `refused` first, then the CSRF checks; else the page that refuses it."""
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    return await posted_form(request, session, deps)


async def log_views(deps, staff: Staff, action: str, handles, **detail) -> None:
    """Every person shown, in the access log, before the page goes out."""
    who = accessor_of(staff)
    await deps.access_log.record([Access(who, action, handle, detail) for handle in handles])


@router.get("/")
async def board_page(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, views: ViewsDep,
    changes: ChangesDep, deps: DepsDep, alert: str = "", party: str = "", sort: str = "next_planned",
) -> Response:  # fmt: skip
    if caller is None:
        return login_page(request, deps)
    request.state.page_session = session
    if caller.role is Role.OPS:
        return RedirectResponse("/drift", status_code=303, headers=HEADERS)
    version = changes.version(caller.principal)  # read first: a change during the query shows up as a newer one
    filters = _filters(alert, party, sort)
    rows = await views.board_rows(caller.principal, **filters)
    await log_views(deps, staff, "board.rows", [v.handle for v in rows])
    parties = sorted({p for v in rows for p in v.parties} | ({filters["party"]} if filters["party"] else set()))
    return render(
        request, "board.html", caller=caller, rows=rows, version=version, filters=filters,
        alert_kinds=LABELS, sorts=SORTS, parties=[p for p in parties if p != caller.principal],
        columns=api.COLUMNS.values(),
    )  # fmt: skip


@router.get("/rader")
async def board_fragment(
    request: Request, staff: PageStaff, caller: PageCaller, views: ViewsDep, deps: DepsDep,
    alert: str = "", party: str = "", sort: str = "next_planned",
) -> Response:  # fmt: skip
    """The table's rows alone, for the page to swap in when the board changes."""
    if caller is None:
        return PlainTextResponse("Inte inloggad", status_code=401, headers=HEADERS)
    if caller.role is not Role.COORDINATOR:
        return PlainTextResponse("Personer visas inte för drift", status_code=403, headers=HEADERS)
    rows = await views.board_rows(caller.principal, **_filters(alert, party, sort))
    await log_views(deps, staff, "board.rows", [v.handle for v in rows])
    return render(request, "rows.html", rows=rows, columns=api.COLUMNS.values())


@router.get("/person/{handle}")
async def person_page(
    request: Request, handle: str, session: PageSession, staff: PageStaff, caller: PageCaller, views: ViewsDep,
    deps: DepsDep,
) -> Response:  # fmt: skip
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    try:
        row, entries = await views.timeline(caller.principal, handle)
    except PersonNotOnBoard:
        return render(request, "not_found.html", 404, caller=caller)
    await log_views(deps, staff, "board.timeline", [handle], events=len(entries))
    return render(request, "person.html", caller=caller, row=row, entries=entries, columns=api.COLUMNS)


PERIOD_ERRORS = {
    "from": "Skriv första månaden som ÅÅÅÅ-MM, tidigast 2000-01 och senast denna månad.",
    "to": "Skriv sista månaden som ÅÅÅÅ-MM, senast denna månad, inte före den första och högst 36 månader efter den.",
}


@router.get("/statistik")
async def statistics_page(
    request: Request, session: PageSession, caller: PageCaller, views: ViewsDep, deps: DepsDep,
    first: str = Query("", alias="from"), last: str = Query("", alias="to"),
) -> Response:  # fmt: skip
    if caller is None:
        return login_page(request, deps, status_code=401)
    request.state.page_session = session
    today = deps.clock().date()
    error, period = None, None
    try:
        period = parse_period(first or None, last or None, today)
    except InvalidPeriod as invalid:
        error = {"field": invalid.field, "text": PERIOD_ERRORS[invalid.field]}
    stats = await views.statistics(caller, period)
    asked = {"from": first, "to": last} if error else stats["period"]
    return render(
        request, "statistics.html", 422 if error else 200, caller=caller, stats=stats, charts=charts(stats),
        smallest_shown=SMALLEST_SHOWN, small_note=SMALL_NOTE, error=error, asked=asked,
        this_month=f"{today:%Y-%m}", period_query=f"from={stats['period']['from']}&to={stats['period']['to']}",
    )  # fmt: skip


@router.get("/drift")
async def ops_page(request: Request, session: PageSession, caller: PageCaller, ops: OpsDep, deps: DepsDep) -> Response:
    """The ops dashboard: per service flows, decisions, dead letters, backlogs; lag per consumer group."""
    if caller is None:
        return login_page(request, deps, status_code=401)
    request.state.page_session = session
    if caller.role is not Role.OPS:
        return render(request, "not_found.html", 404, caller=caller)
    return render(request, "ops.html", caller=caller, ops=ops.summary())


@router.get("/statistik.json")
async def statistics_json(
    caller: PageCaller, views: ViewsDep, deps: DepsDep, first: str = Query("", alias="from"),
    last: str = Query("", alias="to"),
) -> Response:  # fmt: skip
    """What `/v1/statistics` answers, for the logged-in browser (which holds a cookie, not a bearer header)."""
    if isinstance(stats := await _statistics_or_refusal(caller, views, deps, first, last), Response):
        return stats
    return JSONResponse(stats, headers=HEADERS)


@router.get("/statistik.csv")
async def statistics_csv(
    caller: PageCaller, views: ViewsDep, deps: DepsDep, first: str = Query("", alias="from"),
    last: str = Query("", alias="to"),
) -> Response:  # fmt: skip
    if isinstance(stats := await _statistics_or_refusal(caller, views, deps, first, last), Response):
        return stats
    return PlainTextResponse(
        as_csv(stats),
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


async def _statistics_or_refusal(caller: Caller | None, views, deps, first: str, last: str) -> dict | Response:
    """The statistics of the period asked for, or the plain-text refusal: not signed in, or no such period."""
    if caller is None:
        return PlainTextResponse("Inte inloggad", status_code=401, headers=HEADERS)
    try:
        period = parse_period(first or None, last or None, deps.clock().date())
    except InvalidPeriod as invalid:
        return PlainTextResponse(f"{invalid.field}: {PERIOD_ERRORS[invalid.field]}", status_code=422, headers=HEADERS)
    return await views.statistics(caller, period)


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

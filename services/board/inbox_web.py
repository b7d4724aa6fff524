"""The Inkorg page: what the principal received, overdue first, with the receipt deadline and
"Kvittera"; what it sent that asks for a receipt, with each recipient's (services/board/inbox.py).

    GET  /inkorg            both lists
    POST /inkorg/kvittera   (CSRF-checked) `event_id`, `sender`, `handle`: the receipt, then back

Received comes from the principal's own gateway (`GET /v1/inbox/latest`) and the receipt goes to it
(`POST /v1/inbox/{event_id}/ack`, the same receipt as a system's), both with the user's own token
(upstream.py). Sent comes from the board's own store of what crossed. Every person shown is in
the access log (`board.inbox`), and so is each receipt (`board.receipt`).
"""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.board.deps import DepsDep, PageCaller, PageSession, PageStaff
from services.board.inbox import STATES, received, sent
from services.board.visibility import visible_events
from services.board.web import HEADERS, coordinator_form, log_views, refused, render
from services.board.workspace import handle_of, trouble

router = APIRouter(include_in_schema=False)
SHOWN = 200
NOTICES = {"kvitterat": "Kvittensen är registrerad och skickas till avsändaren."}


@router.get("/inkorg")
async def inbox_page(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep, klart: str = ""
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    return await _page(request, session, staff, caller, deps, notice=NOTICES.get(klart))


async def _page(request, session, staff, caller, deps, notice=None, problem=None, status=200) -> Response:
    now = deps.clock()
    answer = await deps.upstream.gateway(session, "GET", f"/v1/inbox/latest?limit={SHOWN}")
    incoming = received(answer.body["events"], lambda p: handle_of(deps, p), now) if answer.ok else []
    persons = [
        (p.pseudonym, events)
        for p in await deps.store.persons_visible_to(caller.principal)
        if (events := visible_events(caller.principal, p.events))
    ]
    outgoing = sent(caller.principal, persons)
    await log_views(deps, staff, "board.inbox", sorted({r.handle for r in incoming} | {s.handle for s in outgoing}))
    return render(
        request, "inkorg.html", status, caller=caller, incoming=incoming, outgoing=outgoing, states=STATES,
        notice=notice, problem=problem or (None if answer.ok else trouble(answer)),
    )  # fmt: skip


@router.post("/inkorg/kvittera")
async def acknowledge(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if isinstance(form := await coordinator_form(request, session, caller, deps), Response):
        return form
    event_id, sender, handle = (form.get(k, [""])[0] for k in ("event_id", "sender", "handle"))
    body = {"sender": sender, **({"unit": staff.unit} if staff.unit else {})}
    result = await deps.upstream.gateway(session, "POST", f"/v1/inbox/{_path_part(event_id)}/ack", body)
    if not result.ok:
        return await _page(request, session, staff, caller, deps, problem=trouble(result), status=result.status)
    await log_views(deps, staff, "board.receipt", [handle], event_id=event_id)
    return RedirectResponse("/inkorg?klart=kvitterat", status_code=303, headers=HEADERS)


def _path_part(event_id: str) -> str:
    return quote(event_id, safe="")

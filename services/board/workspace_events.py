"""The workspace's Registrera händelse and SIP pages: a form per event type the user's principal
may send, built from the catalogue's JSON Schemas (workspace_forms.py), posted to the principal's
own gateway with the user's own token — the same validation and outbox as a system's event, with
`source` naming the workspace and the user (set by the gateway).

    GET  /registrera                the types the principal may register
    GET  /registrera/{name}         the form of one type (catalogue name, e.g. visit.missed)
    POST /registrera/{name}         posted through the gateway; its 422 shown next to the fields
    GET  /sip                       call a SIP meeting, record the plan (the same forms, shaped for it)

The person is given in the form (a personnummer is never in a URL), or chosen from the board by
its handle (`?person=<handle>`), so the form can say whom it is about. Each form carries a fresh
event id, so posting it twice (a double click, a reload) registers the event once.
"""

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.person import normalize_person_id
from services.board.deps import DepsDep, PageCaller, PageSession, PageStaff, ViewsDep
from services.board.domain import format_person_id
from services.board.web import log_views, posted_form, refused, render
from services.board.workspace import handle_of, parties_of, person_of_handle, trouble
from services.board.workspace_forms import error_for as error_of
from services.board.workspace_forms import (
    event_body,
    event_types_for,
    form_fields,
    row_count,
    spec_named,
    unplaced,
)

router = APIRouter(include_in_schema=False)
SIP_TYPES = ("sip.requested", "sip.plan_updated")
SIP_HELP = {
    "sip.requested": "Kalla de berörda huvudmännen till ett SIP-möte. Mottagarna ska kvittera kallelsen.",
    "sip.plan_updated": "Skriv in planen efter mötet: målen, vem som gör vad och när planen följs upp.",
}


def _form_context(spec, deps, caller, form: dict, errors: dict, person: str | None = None) -> dict:
    fields = form_fields(spec, tuple(parties_of(deps)))
    names = ["subject", *(f.name for f in fields)]
    return {
        "caller": caller, "spec": spec, "fields": fields, "form": form, "errors": errors, "error_for": error_of,
        "others": unplaced(errors, names), "rows": {f.name: row_count(f, form) for f in fields if f.kind == "rows"},
        "person": person, "help": SIP_HELP.get(spec.name),
    }  # fmt: skip


@router.get("/registrera")
async def event_types(
    request: Request, session: PageSession, caller: PageCaller, deps: DepsDep, person: str = ""
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    specs = [s for s in event_types_for(caller.principal) if s.name not in SIP_TYPES]
    return render(request, "registrera.html", caller=caller, specs=specs, person=_handle(person))


@router.get("/sip")
async def sip_page(
    request: Request, session: PageSession, caller: PageCaller, deps: DepsDep, person: str = ""
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    specs = [spec_named(name, caller.principal) for name in SIP_TYPES]
    return render(request, "sip.html", caller=caller, specs=[s for s in specs if s], help=SIP_HELP,
                  person=_handle(person))  # fmt: skip


def _handle(value: str) -> str:
    """A board handle passed on in a link (a pseudonym: URL-safe characters only), else nothing."""
    return value if value and len(value) <= 128 and all(c.isalnum() or c in "-_" for c in value) else ""


@router.get("/registrera/{name}")
async def event_form(
    request: Request, name: str, session: PageSession, staff: PageStaff, caller: PageCaller, views: ViewsDep,
    deps: DepsDep, person: str = "",
) -> Response:  # fmt: skip
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    spec = spec_named(name, caller.principal)
    if spec is None:
        return render(request, "not_found.html", 404, caller=caller)
    form: dict[str, list[str]] = {"event_id": [str(uuid.uuid4())]}
    shown = None
    if person:  # a handle from the board: the form is about that person
        found = await person_of_handle(deps, views, caller.principal, person)
        if found is None:
            return render(request, "not_found.html", 404, caller=caller)
        form["subject"] = [found]
        shown = format_person_id(found)
        await log_views(deps, staff, "workspace.event_form", [person], event_type=spec.type)
    return render(request, "handelse.html", **_form_context(spec, deps, caller, form, {}, shown))


@router.post("/registrera/{name}")
async def event_post(
    request: Request, name: str, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    spec = spec_named(name, caller.principal)
    if spec is None:
        return render(request, "not_found.html", 404, caller=caller)
    if isinstance(form := await posted_form(request, session, deps), Response):
        return form
    if (form.get("add_row") or [""])[0]:  # "Lägg till rad": the same form, one row more, nothing sent
        return render(request, "handelse.html", **_form_context(spec, deps, caller, form, {}))
    event_id = (form.get("event_id") or [""])[0] or str(uuid.uuid4())
    body, errors = event_body(spec, form, event_id, deps.clock(), tuple(parties_of(deps)))
    problem = None
    if not errors:
        result = await deps.upstream.gateway(session, "POST", "/v1/events", body)
        if result.ok:
            handle = handle_of(deps, normalize_person_id(body["subject"]))
            await log_views(deps, staff, "workspace.event_registered", [handle], event_type=spec.type)
            return render(request, "handelse_skickad.html", caller=caller, spec=spec, event_id=event_id,
                          handle=handle)  # fmt: skip
        errors, problem = result.errors, trouble(result)
    context = _form_context(spec, deps, caller, form, errors)
    return render(request, "handelse.html", 422, **context, problem=problem)

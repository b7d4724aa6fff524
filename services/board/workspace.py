"""The workspace's Samtycke pages: record a consent from the consent form with its preview first,
a person's consents with their history, revoke with a reason and a confirmation step, and the
consents of the user's principal that expire within 30 days.

    GET  /samtycke                 find a person (the form POSTs the personnummer), links
    GET  /samtycke/nytt            the consent form
    POST /samtycke/nytt            action=forhandsgranska: the preview; action=spara: record it
    POST /samtycke/person          a person's consents, found by personnummer (never in a URL)
    GET  /samtycke/person/{handle} the same, found by the board's pseudonymous handle
    POST /samtycke/aterkalla       the confirmation step, then (bekrafta=ja, a reason) the revocation
    GET  /samtycke/utgar           consents naming the principal that end within 30 days

Every call goes to the consent service with the user's own token (upstream.py). Every person
shown is in the access log, as on the board's own pages.
"""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from contracts.catalogue import CATALOGUE
from services.board.deps import DepsDep, PageCaller, PageSession, PageStaff, ViewsDep
from services.board.domain import format_person_id
from services.board.errors import PersonNotOnBoard
from services.board.upstream import UpstreamAnswer
from services.board.web import coordinator_form, log_views, refused, render, templates
from services.board.workspace_forms import consent_body, default_until, error_for, event_types_for, unplaced
from services.board.workspace_labels import CATEGORIES, FORMS, HISTORY, STATUSES, WITHHELD
from services.runtime.pseudonym import Pseudonymizer

router = APIRouter(include_in_schema=False)
templates.env.filters["event_label"] = lambda t: CATALOGUE[t].label_sv if t in CATALOGUE else t
EXPIRING_DAYS = 30
STATUS_TEXT = {
    401: "Tjänsten godtog inte din inloggning. Logga ut och in igen.",
    403: "Du får inte göra det här för den huvudmannen.",
    404: "Det finns inget sådant som du får se.",
    409: "Det krockar med något som redan är sparat.",
}


def trouble(answer: UpstreamAnswer) -> str | None:
    """What to tell the user about an answer that is not a success, in Swedish."""
    if answer.ok:
        return None
    if answer.status == 422:
        return "Något i formuläret behöver rättas; se markeringarna vid fälten."
    return STATUS_TEXT.get(answer.status) or answer.detail or f"Tjänsten svarade {answer.status}."


def parties_of(deps) -> list[str]:
    """The principals of this deployment (the gateways the board knows), for the parties' choice."""
    return sorted(name for name in deps.settings.metrics_targets if name.startswith(("region-", "kommun-")))


def recorded_by(staff) -> str:
    return staff.hsa_id or staff.name


def handle_of(deps, person: str) -> str:
    return Pseudonymizer(deps.settings.pseudonym_key).of(person)


def consent_context(deps, caller, staff, form: dict, errors: dict) -> dict:
    names = ["person", "parties", "categories", "excluded_categories", "excluded_event_types", "valid_from",
             "valid_until", "form"]  # fmt: skip
    today = deps.clock().date()
    return {
        "caller": caller, "form": form, "errors": errors, "error_for": error_for, "others": unplaced(errors, names),
        "parties": parties_of(deps), "categories": CATEGORIES, "forms": FORMS, "recorded_by": recorded_by(staff),
        "event_types": sorted({s.type: s.label_sv for p in parties_of(deps) for s in event_types_for(p)}.items(),
                              key=lambda t: t[1]),
        "today": today.isoformat(), "default_until": default_until(today).isoformat(),
    }  # fmt: skip


@router.get("/samtycke")
async def consent_start(request: Request, session: PageSession, caller: PageCaller, deps: DepsDep) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    return render(request, "samtycke.html", caller=caller, errors={}, error_for=error_for)


@router.get("/samtycke/nytt")
async def consent_form(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    form = {"parties": [caller.principal], "categories": list(CATEGORIES)}
    return render(request, "samtycke_nytt.html", **consent_context(deps, caller, staff, form, {}), preview=None)


@router.post("/samtycke/nytt")
async def consent_post(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if isinstance(form := await coordinator_form(request, session, caller, deps), Response):
        return form
    body, errors = consent_body(form, recorded_by(staff), deps.clock().date())
    saving = (form.get("action") or [""])[0] == "spara"
    preview, problem = None, None
    if not errors:
        path = "/v1/consents" if saving else "/v1/consents/preview"
        result = await deps.upstream.consent(session, "POST", path, body)
        handle = handle_of(deps, body["person"])
        await log_views(deps, staff, "workspace.consent_saved" if saving else "workspace.consent_preview", [handle])
        if result.ok and saving:
            return await person_consents(request, session, staff, caller, deps, body["person"],
                                         notice="Samtycket är sparat.")  # fmt: skip
        errors, problem = result.errors, trouble(result)
        preview = preview_rows(result.body) if result.ok else None
    context = consent_context(deps, caller, staff, form, errors)
    status = 200 if not (errors or problem) else 422
    return render(request, "samtycke_nytt.html", status, **context, preview=preview, problem=problem)


def preview_rows(body) -> list[dict]:
    """The preview's events in words: what it is, from whom, and to whom it would or would not go."""
    rows = []
    for item in (body or {}).get("events", []):
        withheld = {p: WITHHELD.get(why, why) for p, why in item.get("withheld", {}).items()}
        rows.append({**item, "withheld": withheld})
    return rows


@router.post("/samtycke/person")
async def consent_person_found(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if isinstance(form := await coordinator_form(request, session, caller, deps), Response):
        return form
    body, errors = consent_body(form, None, deps.clock().date())
    if "person" in errors:
        return render(request, "samtycke.html", 422, caller=caller, errors=errors, error_for=error_for)
    return await person_consents(request, session, staff, caller, deps, body["person"])


@router.get("/samtycke/person/{handle}")
async def consent_person_by_handle(
    request: Request, handle: str, session: PageSession, staff: PageStaff, caller: PageCaller, views: ViewsDep,
    deps: DepsDep,
) -> Response:  # fmt: skip
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    person = await person_of_handle(deps, views, caller.principal, handle)
    if person is None:
        return render(request, "not_found.html", 404, caller=caller)
    return await person_consents(request, session, staff, caller, deps, person)


async def person_of_handle(deps, views, principal: str, handle: str) -> str | None:
    """The personnummer behind a handle the principal may see (on its board, or a consent naming it)."""
    try:
        row, _ = await views.timeline(principal, handle)
        return row.patient.replace("-", "")
    except PersonNotOnBoard:
        spans = await deps.store.consent_spans(principal)
        return next((s.person_id for s in spans if s.person == handle), None)


async def person_consents(request, session, staff, caller, deps, person: str, notice: str | None = None) -> Response:
    found = await deps.upstream.consent(session, "POST", "/v1/consents/search", {"person": person})
    handle = handle_of(deps, person)
    consents = found.body.get("consents", []) if found.ok else []
    for consent in consents:
        history = await deps.upstream.consent(session, "GET", f"/v1/consents/{consent['id']}/history")
        consent["history"] = history.body.get("history", []) if history.ok else []
    await log_views(deps, staff, "workspace.consents", [handle], consents=len(consents))
    return render(
        request, "samtycke_person.html", caller=caller, person=format_person_id(person), person_id=person,
        handle=handle, consents=consents, problem=trouble(found), notice=notice, statuses=STATUSES,
        history_text=HISTORY, categories=CATEGORIES, forms=FORMS,
    )  # fmt: skip


@router.post("/samtycke/aterkalla")
async def consent_revoke(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if isinstance(form := await coordinator_form(request, session, caller, deps), Response):
        return form
    consent_id = (form.get("consent_id") or [""])[0]
    person = (form.get("person") or [""])[0]
    reason = (form.get("reason") or [""])[0].strip()
    confirmed = (form.get("bekrafta") or [""])[0] == "ja"
    body, errors = consent_body({"person": [person]}, None, deps.clock().date())
    if "person" in errors:
        return render(request, "not_found.html", 404, caller=caller)
    if confirmed and not reason:
        errors = {"reason": "Ange varför samtycket återkallas."}
    if not confirmed or errors.get("reason"):
        status = 422 if confirmed else 200
        return render(request, "samtycke_aterkalla.html", status, caller=caller, consent_id=consent_id,
                      person=format_person_id(body["person"]), person_id=body["person"], reason=reason,
                      errors=errors, error_for=error_for)  # fmt: skip
    result = await deps.upstream.consent(session, "POST", f"/v1/consents/{consent_id}/revoke", {"reason": reason[:500]})
    await log_views(deps, staff, "workspace.consent_revoked", [handle_of(deps, body["person"])],
                    consent_id=consent_id, reason=reason[:500])  # fmt: skip
    notice = "Samtycket är återkallat. Personen lämnar samverkan direkt." if result.ok else trouble(result)
    return await person_consents(request, session, staff, caller, deps, body["person"], notice=notice)


@router.get("/samtycke/utgar")
async def consents_expiring(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    now = deps.clock()
    spans = await deps.store.consent_spans(caller.principal)
    soon = sorted((s for s in spans if now < s.valid_until <= now + timedelta(days=EXPIRING_DAYS)),
                  key=lambda s: s.valid_until)  # fmt: skip
    await log_views(deps, staff, "workspace.consents_expiring", sorted({s.person for s in soon}))
    rows = [{"handle": s.person, "person": format_person_id(s.person_id), "valid_until": s.valid_until} for s in soon]
    return render(request, "samtycke_utgar.html", caller=caller, rows=rows, days=EXPIRING_DAYS)

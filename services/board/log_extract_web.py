"""The Loggutdrag page: a person's log extract on request, as a page and as a PDF, in Swedish.

    GET  /loggutdrag   the form: the person's personnummer or samordningsnummer
    POST /loggutdrag   (CSRF-checked) `person`, `format` = page | pdf

The personnummer travels only in the posted form and in the body of the call to the consent
service (`POST /v1/log-extract`, made with the user's own token: services/board/upstream.py),
never in a URL; the PDF's file name does not hold it either. Producing the extract is logged in
the board's access log (`board.log_extract`), and the consent service logs its part.
"""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from contracts import PersonId
from services.board.deps import DepsDep, PageCaller, PageSession, PageStaff
from services.board.log_extract import extract
from services.board.log_extract_render import consent_changes_of, decisions_of, looks_of, pdf_of
from services.board.web import HEADERS, coordinator_form, log_views, refused, render, templates
from services.runtime.pseudonym import Pseudonymizer

router = APIRouter(include_in_schema=False)
PERSON = TypeAdapter(PersonId)
INVALID_PERSON = "Skriv ett giltigt personnummer eller samordningsnummer, till exempel 19121212-1212."
NOT_ANSWERED = "Samtyckestjänsten kunde inte lämna uppgifterna just nu. Försök igen om en stund."


@router.get("/loggutdrag")
async def log_extract_form(request: Request, session: PageSession, caller: PageCaller, deps: DepsDep) -> Response:
    if (answer := refused(request, session, caller, deps)) is not None:
        return answer
    return render(request, "log_extract.html", caller=caller)


@router.post("/loggutdrag")
async def log_extract_produced(
    request: Request, session: PageSession, staff: PageStaff, caller: PageCaller, deps: DepsDep
) -> Response:
    if isinstance(form := await coordinator_form(request, session, caller, deps), Response):
        return form
    written = form.get("person", [""])[0].strip()
    try:
        person = PERSON.validate_python(written)
    except ValidationError:
        return render(request, "log_extract.html", 422, caller=caller, person=written, error=INVALID_PERSON)
    answer = await deps.upstream.consent(session, "POST", "/v1/log-extract", {"person": person})
    # what the principal's staff did at its gateway with their own token (the inbox, receipts, events)
    at_gateway = await deps.upstream.gateway(session, "POST", "/v1/access-log/search", {"person": person})
    if not answer.ok or not at_gateway.ok:
        return render(request, "log_extract.html", 502, caller=caller, person=written, error=NOT_ANSWERED)
    pseudonym = Pseudonymizer(deps.settings.pseudonym_key).of(person)
    board_looks = await deps.access_log.search(caller.principal, pseudonym)
    x = extract(
        person_id=f"{person[:8]}-{person[8:]}",
        pseudonym=pseudonym,
        principal=caller.principal,
        decisions=decisions_of(answer.body, pseudonym),
        changes=consent_changes_of(answer.body, pseudonym),
        looks=looks_of(answer.body.get("accesses", []), "consent", pseudonym)
        + looks_of(board_looks, "board", pseudonym)
        + looks_of(at_gateway.body.get("entries", []), "gateway", pseudonym),
        produced_at=deps.clock(),
        produced_by=_produced_by(staff),
    )
    as_pdf = form.get("format", ["page"])[0] == "pdf"
    await log_views(
        deps, staff, "board.log_extract", [pseudonym], format="pdf" if as_pdf else "page",
        crossed=len(x.crossed), withheld=len(x.withheld), consent_changes=len(x.consent_changes),
        accesses=len(x.accesses),
    )  # fmt: skip
    if as_pdf:
        headers = {**HEADERS, "Content-Disposition": 'attachment; filename="loggutdrag.pdf"'}
        return Response(await pdf_of(templates, x), media_type="application/pdf", headers=headers)
    return render(request, "log_extract.html", caller=caller, person=written, x=x)


def _produced_by(staff) -> str:
    unit = f", {staff.unit}" if staff.unit else ""
    return f"{staff.name}{unit}"

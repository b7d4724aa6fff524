"""Signing in to the board's pages through the organisation's identity provider, and out again.

    GET  /logga-in/{provider}  a pending session (server-side) and the redirect to the provider
    GET  /inloggad             the provider's answer: a new signed-in session, or a refusal page
    POST /logga-ut             (CSRF-checked) ends the session here and at the provider
    GET  /utloggad             where the provider sends the browser back

The pending cookie is `SameSite=Lax` and only for `/inloggad`, because the provider's redirect back
is a cross-site navigation; the session cookie is Lax too, so that the first page after the
provider's redirect (and a link from a mail) finds it — forms are protected by their CSRF token,
not by the cookie's SameSite. Both are HttpOnly, and Secure whenever the browser speaks https to
us (SAMORDNA_PUBLIC_URL, or X-Forwarded-Proto from a trusted proxy).
"""

import logging

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.board.deps import COOKIE, PENDING_COOKIE, DepsDep, PageSession, get_deps
from services.board.sessions import Kind
from services.board.upstream import SignInAgain
from services.board.web import HEADERS, login_page, posted_form, public_base, render
from services.runtime.oidc import SignInRefused

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
CALLBACK = "/inloggad"

RENEWAL_FAILED = (
    "Din inloggning kunde inte förnyas hos identitetsleverantören, så du har loggats ut. "
    "Logga in igen; det du skrev på den senaste sidan har inte sparats."
)
REFUSALS_IN_SWEDISH = {
    "principal not allowed for this issuer": "identitetsleverantören får inte intyga den huvudman den uppgav för dig",
    "role ops only for principal ops, from an issuer configured for ops": (
        "driftbehörighet kan bara intygas av den identitetsleverantör som är betrodd för drift"
    ),
    "unknown role": "identitetsleverantören uppgav ingen roll som gäller här",
    "unknown identity provider": "den identitetsleverantören är inte ansluten till Samordna",
}


def _secure(request: Request) -> bool:
    return public_base(request).startswith("https://")


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


@router.get("/logga-in/{provider}")
async def begin(request: Request, provider: str, deps: DepsDep) -> Response:
    if provider not in deps.sign_in.providers:
        return login_page(request, deps, "Den identitetsleverantören är inte ansluten till Samordna.", 404)
    pending = await deps.sessions.create(Kind.PENDING, {"provider": provider}, deps.clock())
    redirect = await deps.sign_in.begin(provider, request, pending.data, f"{public_base(request)}{CALLBACK}")
    await deps.sessions.save(pending)
    redirect.headers.update(HEADERS)
    redirect.set_cookie(
        PENDING_COOKIE, pending.key, httponly=True, samesite="lax", secure=_secure(request), path=CALLBACK, max_age=600
    )
    return redirect


@router.get(CALLBACK)
async def finish(request: Request, deps: DepsDep) -> Response:
    pending, _ = await deps.sessions.find(request.cookies.get(PENDING_COOKIE), Kind.PENDING, deps.clock())
    if pending is None:
        return login_page(request, deps, "Inloggningen gick inte att slutföra. Försök igen.", 400)
    await deps.sessions.end(pending.key)  # one answer per sign-in, whatever it says
    provider = pending.data["provider"]
    try:
        staff, id_token, tokens = await deps.sign_in.finish(provider, request, pending.data)
    except SignInRefused as exc:
        log.info("sign-in refused", extra={"provider": provider, "reason": exc.reason})
        response = render(
            request, "signin_refused.html", 403, deps=deps,
            reason=REFUSALS_IN_SWEDISH.get(exc.reason, exc.reason), provider=deps.sign_in.providers[provider].label,
        )  # fmt: skip
        response.delete_cookie(PENDING_COOKIE, path=CALLBACK)
        return response
    # the user's own tokens, server-side only: the pages call the APIs with them (upstream.py)
    data = {"staff": staff.as_dict(), "provider": provider, "id_token": id_token,
            "tokens": tokens.as_dict() if tokens else None}  # fmt: skip
    session = await deps.sessions.create(Kind.STAFF, data, deps.clock())
    log.info("signed in", extra={"principal": staff.caller.principal, "role": str(staff.caller.role)})
    response = _redirect("/")
    response.delete_cookie(PENDING_COOKIE, path=CALLBACK)
    response.set_cookie(COOKIE, session.key, httponly=True, samesite="lax", secure=_secure(request), path="/")
    return response


@router.post("/logga-ut")
async def log_out(request: Request, session: PageSession, deps: DepsDep) -> Response:
    if session is None:
        return _redirect("/")
    if isinstance(refusal := await posted_form(request, session, deps), Response):
        log.info("sign-out refused: CSRF")
        return refusal
    await deps.sessions.end(session.key)
    log.info("signed out")
    url = await _provider_logout(deps, session.data, f"{public_base(request)}/utloggad")
    response = _redirect(url or "/utloggad")
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


async def _provider_logout(deps, data: dict, back_to: str) -> str | None:
    try:
        return await deps.sign_in.logout_url(data.get("provider", ""), data.get("id_token"), back_to)
    except Exception as exc:  # the provider away: the session here has ended all the same
        log.warning("no RP-initiated logout", extra={"error": type(exc).__name__})
        return None


async def sign_in_again(request: Request, exc: SignInAgain) -> Response:
    """The app's answer when the user's tokens could not be renewed (upstream.py ended the session)."""
    request.state.page_session = None  # ended: the page shows no one signed in
    response = login_page(request, get_deps(request), RENEWAL_FAILED, 401)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


@router.get("/utloggad")
async def logged_out(request: Request, deps: DepsDep) -> Response:
    return render(request, "logged_out.html", deps=deps)

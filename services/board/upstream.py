"""The board's pages calling the APIs for the signed-in member of staff, with the user's OWN access
token (token relay, "backend for frontend"): never with a token of the board's.

    upstream = Upstream(targets, sessions, sign_in)           # targets: SAMORDNA_METRICS_TARGETS
    answer = await upstream.consent(session, "POST", "/v1/consents/preview", body)
    answer = await upstream.gateway(session, "POST", "/v1/events", event)   # the user's principal's
    answer.ok, answer.status, answer.body, answer.errors["data.goals"], answer.detail

The base URLs are the board's `metrics_targets` (name -> base URL: `consent` and each principal's
gateway by its principal), which already names every service the board talks to. The user's tokens
live in the server-side session (services/board/sessions.py, `data["tokens"]`); an access token
about to expire is refreshed first (Authlib, services/runtime/oidc.py) and saved back. When it
cannot be refreshed the session ends here and `SignInAgain` is raised: the app answers it with the
sign-in page and a Swedish notice (services/board/signin.py). A problem+json answer becomes
`errors`, field -> message (the first per field), for the pages to show next to their fields.
"""

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.board.sessions import Session, SessionStore
from services.runtime.oidc import RefreshFailed, SignIn, Tokens, needs_refresh

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
CONSENT = "consent"
UNREACHABLE = "Tjänsten svarar inte just nu. Försök igen om en stund; inget har sparats."
NOT_CONFIGURED = "Tavlan är inte ansluten till den tjänsten (SAMORDNA_METRICS_TARGETS)."


class SignInAgain(Exception):
    """The user's session has ended because their access token could not be renewed."""


@dataclass(frozen=True)
class UpstreamAnswer:
    status: int
    body: Any = None
    errors: dict[str, str] = field(default_factory=dict)  # field -> message, from problem+json
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def field_errors_of(body: object) -> dict[str, str]:
    """A problem+json body's `errors` as field -> message, the first message per field."""
    errors: dict[str, str] = {}
    items = body.get("errors") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("field"), str) and isinstance(item.get("message"), str):
            errors.setdefault(item["field"], item["message"])
    return errors


def answer_of(response: httpx.Response) -> UpstreamAnswer:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if 200 <= response.status_code < 300:
        return UpstreamAnswer(response.status_code, body)
    detail = body.get("detail") if isinstance(body, dict) and isinstance(body.get("detail"), str) else None
    return UpstreamAnswer(response.status_code, body, field_errors_of(body), detail)


class Upstream:
    def __init__(
        self,
        targets: Mapping[str, str],
        sessions: SessionStore,
        sign_in: SignIn,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._targets = {name: url.rstrip("/") for name, url in targets.items()}
        self._sessions = sessions
        self._sign_in = sign_in
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=transport, follow_redirects=False)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def consent(self, session: Session, method: str, path: str, body: Any = None) -> UpstreamAnswer:
        """The consent service, as the user."""
        return await self.call(session, CONSENT, method, path, body)

    async def gateway(self, session: Session, method: str, path: str, body: Any = None) -> UpstreamAnswer:
        """The user's own principal's gateway, as the user."""
        return await self.call(session, session.data["staff"]["principal"], method, path, body)

    async def call(self, session: Session, service: str, method: str, path: str, body: Any = None) -> UpstreamAnswer:
        base = self._targets.get(service)
        if base is None:
            return UpstreamAnswer(503, detail=NOT_CONFIGURED)
        token = await self.access_token(session)
        try:
            response = await self._http.request(
                method, f"{base}{path}", json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            log.warning("upstream unreachable", extra={"service": service, "error": type(exc).__name__})
            return UpstreamAnswer(503, detail=UNREACHABLE)
        return answer_of(response)

    async def access_token(self, session: Session) -> str:
        """The user's access token, refreshed first if it is about to expire; SignInAgain if it
        cannot be (the session is ended here)."""
        raw = session.data.get("tokens")
        if not raw:
            await self._end(session, "no tokens")
        tokens = Tokens.from_dict(raw)
        if not needs_refresh(tokens, self._clock()):
            return tokens.access_token
        try:
            tokens = await self._sign_in.refresh(session.data.get("provider", ""), tokens)
        except RefreshFailed as exc:
            await self._end(session, str(exc))
        session.data["tokens"] = tokens.as_dict()
        await self._sessions.save(session)
        return tokens.access_token

    async def _end(self, session: Session, why: str) -> None:
        log.info("session ended: tokens not renewed", extra={"reason": why})
        await self._sessions.end(session.key)
        raise SignInAgain(why)

"""Staff sign in to the web pages through their organisation's identity provider: OpenID Connect,
authorization code flow with PKCE (S256), one provider per issuer of the issuers file that has a
`client_file` (services/runtime/jwt_issuers.py).

The protocol is Authlib's (`authlib.integrations.starlette_client`): discovery, the authorization
request with state, nonce and code challenge, the token request, the ID token's signature, issuer,
audience, expiry and nonce, and the end-session URL for RP-initiated logout. What is ours is what
the claims mean here (`staff_from_claims`, pure): the principal and role, vouched for by the rule
the API's JWTs follow (services/runtime/vouching.py), and the user's HSA-id, unit and name.

Authlib keeps its state between the two legs in `request.session`; the caller hands it a dict held
server-side (services/board/sessions.py), so nothing of the flow or the tokens is in a cookie.

The pages act for the user with the user's own access token (token relay): `finish` hands back the
`Tokens` of the code exchange, kept in the server-side session, and `refresh` gets new ones with the
refresh token (Authlib) when `needs_refresh` says the access token is about to expire.
"""

import json
import time
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path

from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.requests import Request

from services.runtime.identity import Caller, Role
from services.runtime.jwt_issuers import IssuerConfig
from services.runtime.vouching import NotVouched, vouched_caller

STAFF_ROLES = (Role.COORDINATOR, Role.OPS)  # a system signs in with a token, never through a browser
REFRESH_MARGIN_SECONDS = 30  # an access token that expires within this is refreshed before a call


class SignInRefused(Exception):
    """The provider answered, but what it said signs no one in here; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Staff:
    """A signed-in member of staff: who they act as, and who they are (for the access log)."""

    caller: Caller
    issuer: str
    subject: str
    name: str
    hsa_id: str | None
    unit: str | None

    def as_dict(self) -> dict:
        return {
            "principal": self.caller.principal, "role": str(self.caller.role), "issuer": self.issuer,
            "subject": self.subject, "name": self.name, "hsa_id": self.hsa_id, "unit": self.unit,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> "Staff":
        caller = Caller(data["principal"], Role(data["role"]))
        return cls(caller, data["issuer"], data["subject"], data["name"], data.get("hsa_id"), data.get("unit"))


class RefreshFailed(Exception):
    """The provider gave no new access token (the refresh token expired or was revoked, or the
    provider is away): the user must sign in again."""


@dataclass(frozen=True)
class Tokens:
    """The user's tokens from the provider: kept server-side only, never in a cookie or a log."""

    access_token: str
    refresh_token: str | None
    expires_at: float  # seconds since the epoch

    def as_dict(self) -> dict:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_at": self.expires_at}

    @classmethod
    def from_dict(cls, data: dict) -> "Tokens":
        return cls(data["access_token"], data.get("refresh_token"), float(data["expires_at"]))


def tokens_from(token: dict, now: float, previous: Tokens | None = None) -> Tokens:
    """The tokens of a token endpoint's answer (Authlib's dict); a refresh that sends no new
    refresh token keeps the old one. ValueError if there is no access token."""
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("no access token in the answer")
    expires_at = token.get("expires_at")
    if not isinstance(expires_at, int | float):
        expires_in = token.get("expires_in")
        expires_at = now + (float(expires_in) if isinstance(expires_in, int | float) else 60.0)
    refresh = token.get("refresh_token") or (previous.refresh_token if previous else None)
    return Tokens(access, refresh if isinstance(refresh, str) else None, float(expires_at))


def needs_refresh(tokens: Tokens, now: float, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
    return tokens.expires_at - now <= margin


@dataclass(frozen=True)
class Provider:
    key: str  # names the provider in the sign-in URL: its first principal
    label: str
    config: IssuerConfig
    client_id: str
    client_secret: str


def read_client_file(path: Path) -> tuple[str, str]:
    """(client_id, client_secret) from a client file; ValueError naming the file if it is unusable."""
    try:
        data = json.loads(path.read_text())
        client_id, secret = data["client_id"], data["client_secret"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: needs JSON with client_id and client_secret ({type(exc).__name__})") from None
    if not (isinstance(client_id, str) and client_id and isinstance(secret, str) and secret):
        raise ValueError(f"{path}: client_id and client_secret must be non-empty strings")
    return client_id, secret


def web_providers(issuers: Iterable[IssuerConfig], label_of=lambda principal: principal) -> list[Provider]:
    """The issuers staff can sign in through, in the file's order."""
    providers = []
    for config in issuers:
        if config.client_file is None:
            continue
        client_id, secret = read_client_file(config.client_file)
        key = next((p for p in config.principals if p != "ops"), config.principals[0])
        providers.append(Provider(key, config.label or label_of(key), config, client_id, secret))
    return providers


def staff_from_claims(claims: dict, config: IssuerConfig) -> Staff:
    """The member of staff an ID token (already verified) names, or SignInRefused saying why not."""
    if claims.get("iss") != config.issuer:
        raise SignInRefused("the token names another issuer")
    try:
        caller = vouched_caller(
            claims.get(config.principal_claim), claims.get(config.role_claim), config.principals, config.principal_claim
        )
    except NotVouched as exc:
        raise SignInRefused(exc.reason) from None
    if caller.role not in STAFF_ROLES:
        raise SignInRefused(f"role {caller.role} does not sign in to the web pages")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise SignInRefused("missing claim sub")
    name = claims.get(config.name_claim) or claims.get("preferred_username") or subject
    return Staff(caller, config.issuer, subject, str(name), _text(claims.get(config.hsa_id_claim)),
                 _text(claims.get(config.unit_claim)))  # fmt: skip


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class SignIn:
    """The providers, each an Authlib client; `session` is the server-side dict of the browser."""

    def __init__(self, providers: list[Provider]) -> None:
        self.providers = {p.key: p for p in providers}
        self._oauth = OAuth()
        for p in providers:
            self._oauth.register(
                name=p.key,
                client_id=p.client_id,
                client_secret=p.client_secret,
                server_metadata_url=p.config.metadata_url or f"{p.config.issuer}/.well-known/openid-configuration",
                client_kwargs={"scope": p.config.scope, "code_challenge_method": "S256"},
            )

    def _client(self, key: str):
        if key not in self.providers:
            raise SignInRefused("unknown identity provider")
        return self._oauth.create_client(key)

    async def begin(self, key: str, request: Request, session: MutableMapping, redirect_uri: str):
        """The redirect to the provider's login page; the state, nonce and code verifier go into `session`."""
        client = self._client(key)
        request.scope["session"] = session
        return await client.authorize_redirect(request, redirect_uri)

    async def finish(
        self, key: str, request: Request, session: MutableMapping
    ) -> tuple[Staff, str | None, Tokens | None]:
        """The member of staff the provider's answer names, the ID token (for the logout hint) and
        the user's tokens (to call the APIs as the user)."""
        client = self._client(key)
        request.scope["session"] = session
        try:
            token = await client.authorize_access_token(request)
        except OAuthError as exc:
            raise SignInRefused(f"the identity provider's answer was refused ({exc.error})") from None
        claims = token.get("userinfo")
        if not claims:
            raise SignInRefused("the identity provider sent no ID token")
        staff = staff_from_claims(dict(claims), self.providers[key].config)
        try:
            tokens = tokens_from(dict(token), time.time())
        except ValueError:
            tokens = None
        return staff, token.get("id_token"), tokens

    async def refresh(self, key: str, tokens: Tokens) -> Tokens:
        """New tokens from the refresh token (the refresh grant, through Authlib), or RefreshFailed."""
        if key not in self.providers or not tokens.refresh_token:
            raise RefreshFailed("nothing to refresh with")
        client = self._oauth.create_client(key)
        try:
            token = await client.fetch_access_token(grant_type="refresh_token", refresh_token=tokens.refresh_token)
            return tokens_from(dict(token), time.time(), tokens)
        except Exception as exc:  # OAuthError, the provider away, an answer without a token: all end the session
            raise RefreshFailed(type(exc).__name__) from None

    async def logout_url(self, key: str, id_token: str | None, post_logout_redirect_uri: str) -> str | None:
        """Where the browser ends its session at the provider (RP-initiated logout), if the provider says."""
        if key not in self.providers:
            return None
        client = self._oauth.create_client(key)
        metadata = await client.load_server_metadata()
        if not metadata.get("end_session_endpoint"):
            return None
        result = await client.create_logout_url(
            post_logout_redirect_uri=post_logout_redirect_uri, id_token_hint=id_token, client_id=client.client_id
        )
        return result["url"]

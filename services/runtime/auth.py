"""Bearer tokens mapped to a principal and a role.

Two kinds of bearer token are accepted:

- static development tokens: the tokens file holds only SHA-256 digests of them,
  ``{"tokens": [{"sha256": "...", "principal": "region-14", "role": "system"}]}``;
- JWTs from the organisations' identity providers named in the JWT issuers file
  (see services/runtime/jwt_issuers.py and jwt_verify.py).

A partner system may instead present a client certificate (mutual TLS, the SITHS function
certificate model: services/runtime/client_certs.py) and no Authorization header.

Every way the result is a `Caller`, so `require(...)` applies the same to both.
"""

import hashlib
import json
import logging
import re
from pathlib import Path

from fastapi import Depends, HTTPException, Request, status

from contracts.person import redact_person_ids
from services.runtime.client_certs import certificate_subject
from services.runtime.identity import Caller, Role
from services.runtime.jwt_issuers import read_issuers
from services.runtime.jwt_verify import InvalidToken, IssuerKeysUnavailable, JwtVerifier
from services.runtime.openapi import documented_schemes

__all__ = ["Caller", "Role", "TokenRegistry", "authenticated", "digest", "load_jwt_verifier", "load_tokens", "require"]

log = logging.getLogger(__name__)

# header.payload.signature, base64url; the signature may be empty (alg "none"), to be refused by name
JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class TokenRegistry:
    def __init__(self, callers_by_digest: dict[str, Caller]) -> None:
        self._callers = callers_by_digest

    @classmethod
    def from_file(cls, path: Path) -> "TokenRegistry":
        entries = json.loads(path.read_text())["tokens"]
        return cls({e["sha256"]: Caller(e["principal"], Role(e["role"])) for e in entries})

    def caller_for(self, token: str) -> Caller | None:
        return self._callers.get(digest(token))


def load_tokens(settings) -> TokenRegistry:
    """The registry named by the settings; without one, no call is authenticated."""
    if settings.tokens_file is None:
        return TokenRegistry({})
    return TokenRegistry.from_file(settings.tokens_file)


def load_jwt_verifier(settings) -> JwtVerifier | None:
    """The verifier for the issuers named by the settings; without them, JWTs are not accepted."""
    if settings.jwt_issuers_file is None:
        return None
    return JwtVerifier(read_issuers(settings.jwt_issuers_file))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_jwt(token: str) -> bool:
    return bool(JWT_SHAPE.match(token))


async def authenticated(request: Request, _: None = Depends(documented_schemes)) -> Caller:
    """FastAPI dependency: the caller behind the bearer token, or 401."""
    if "authorization" not in request.headers and (subject := certificate_subject(request.scope)) is not None:
        return _certificate_caller(request, subject)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("missing bearer token")
    verifier: JwtVerifier | None = getattr(request.app.state, "jwt", None)
    if verifier is not None and looks_like_jwt(token):
        return await _jwt_caller(verifier, token)
    caller = request.app.state.tokens.caller_for(token)
    if caller is None:
        raise _unauthorized("unknown bearer token", error="invalid_token")
    return caller


def _certificate_caller(request: Request, subject: dict[str, str]) -> Caller:
    """The caller a verified client certificate (mutual TLS) is mapped to, or 401."""
    caller = request.app.state.certificates.caller_for(subject)
    if caller is None:
        # an HSA-id or organisation number is what an operator maps; a personal certificate's
        # serialNumber may be a personnummer, which is never logged
        serial = redact_person_ids(subject.get("serialNumber", "")[:64])
        log.info("client certificate not mapped", extra={"serial_number": serial})
        raise _unauthorized("client certificate not mapped to a principal")
    return caller


async def _jwt_caller(verifier: JwtVerifier, token: str) -> Caller:
    try:
        return await verifier.caller_for(token)
    except InvalidToken as exc:
        log.info("JWT refused", extra={"reason": exc.reason})
        raise _unauthorized(exc.reason, error="invalid_token") from None
    except IssuerKeysUnavailable:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="the token issuer's keys cannot be fetched now",
            headers={"Retry-After": "5"},
        ) from None


def _unauthorized(reason: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer error="{error}", error_description="{reason}"' if error else "Bearer"
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=reason, headers={"WWW-Authenticate": challenge})


def require(*roles: Role, principal: str | None = None):
    """FastAPI dependency: the caller, if it has one of `roles` (and is `principal`), else 403."""

    # a coroutine: FastAPI would run a plain function in a worker thread, a hand-off per request
    async def check(caller: Caller = Depends(authenticated)) -> Caller:
        if caller.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {caller.role} may not do this")
        if principal is not None and caller.principal != principal:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this service serves {principal}, not {caller.principal}"
            )
        return caller

    return check

"""Bearer tokens mapped to a principal and a role.

The tokens file holds only SHA-256 digests of the tokens:
``{"tokens": [{"sha256": "...", "principal": "region-14", "role": "system"}]}``.
"""

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fastapi import Depends, HTTPException, Request, status


class Role(StrEnum):
    SYSTEM = "system"
    COORDINATOR = "coordinator"
    OPS = "ops"


@dataclass(frozen=True)
class Caller:
    principal: str
    role: Role


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


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticated(request: Request) -> Caller:
    """FastAPI dependency: the caller behind the bearer token, or 401."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    caller = request.app.state.tokens.caller_for(token) if scheme.lower() == "bearer" and token else None
    if caller is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or unknown bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return caller


def require(*roles: Role, principal: str | None = None):
    """FastAPI dependency: the caller, if it has one of `roles` (and is `principal`), else 403."""

    def check(caller: Caller = Depends(authenticated)) -> Caller:
        if caller.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"role {caller.role} may not do this")
        if principal is not None and caller.principal != principal:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this service serves {principal}, not {caller.principal}"
            )
        return caller

    return check

"""The organisations' identity providers whose JWTs the API accepts (SAMORDNA_JWT_ISSUERS_FILE).

``{"issuers": [{"issuer": "https://idp.alingsas.se", "principals": ["kommun-1489"],
"audience": "samordna", "jwks_uri": "https://idp.alingsas.se/jwks.json"}]}``

Each issuer may vouch only for its own `principals`: that is what keeps one organisation's
tokens from being accepted as another's.

An issuer with a `client_file` also signs staff in to the web pages (OpenID Connect, authorization
code with PKCE; services/runtime/oidc.py). The file holds the client's credentials at that provider,
``{"client_id": "samordna-tavla", "client_secret": "..."}`` (a mounted secret, mode 600), and the
user's HSA-id, unit and name come from the claims named here.
"""

import json
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from contracts.principals import PRINCIPAL_PATTERN

# Asymmetric only: a shared-secret (HS*) or unsigned ("none") token proves nothing about who made it.
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS = ("RS256", "ES256")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# "ops" is the deployment's operations staff, who belong to no one principal.
JwtPrincipal = Annotated[str, StringConstraints(pattern=f"^({PRINCIPAL_PATTERN.strip('^$')}|ops)$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class IssuersFileError(ValueError):
    """The issuers file is missing, not JSON, or names something unsafe or malformed."""


class IssuerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: NonEmpty
    principals: tuple[JwtPrincipal, ...] = Field(min_length=1)
    audience: NonEmpty
    jwks_uri: NonEmpty
    principal_claim: NonEmpty = "samordna_principal"
    role_claim: NonEmpty = "samordna_role"
    algorithms: tuple[str, ...] = Field(DEFAULT_ALGORITHMS, min_length=1)
    leeway_seconds: int = Field(30, ge=0, le=300)
    # web sign-in (OpenID Connect); without a client file the issuer's tokens only reach the API
    client_file: Path | None = None
    label: str | None = None  # what the sign-in page calls the organisation; default its principal's name
    metadata_url: str | None = None  # default <issuer>/.well-known/openid-configuration
    hsa_id_claim: NonEmpty = "hsa_id"
    unit_claim: NonEmpty = "samordna_unit"
    name_claim: NonEmpty = "name"
    scope: NonEmpty = "openid profile"

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        refused = [a for a in algorithms if a not in ASYMMETRIC_ALGORITHMS]
        if refused:
            allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            raise ValueError(f"{', '.join(refused)} not allowed; use one of {allowed}")
        return algorithms

    @field_validator("jwks_uri", "metadata_url")
    @classmethod
    def _trusted_transport(cls, uri: str | None) -> str | None:
        if uri is None:
            return None
        parts = urlsplit(uri)
        if parts.scheme == "https" and parts.hostname:
            return uri
        if parts.scheme == "file" and parts.path.startswith("/"):
            return uri
        if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
            return uri
        raise ValueError("must be https://, file:///absolute/path or http:// on the loopback interface")


class IssuersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issuers: list[IssuerConfig] = Field(min_length=1)

    @field_validator("issuers")
    @classmethod
    def _unique(cls, issuers: list[IssuerConfig]) -> list[IssuerConfig]:
        names = [i.issuer for i in issuers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"issuer listed more than once: {', '.join(twice)}")
        return issuers


def read_issuers(path: Path) -> tuple[IssuerConfig, ...]:
    """The issuers in `path`, or IssuersFileError naming the first problem found."""
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise IssuersFileError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise IssuersFileError(f"{path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    try:
        return tuple(IssuersFile.model_validate(raw).issuers)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {_message(e)}" for e in exc.errors())
        raise IssuersFileError(f"{path}: {problems}") from None


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(error: dict) -> str:
    return re.sub(r"^Value error, ", "", error["msg"])

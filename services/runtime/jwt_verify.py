"""Bearer JWTs from the organisations' identity providers, verified against each issuer's own keys.

The unverified `iss` only chooses which issuer's keys and rules to check the token against;
nothing in the token is trusted before its signature verifies with one of those keys. The
principal must then be one the issuer may vouch for, so no organisation can speak for another.
"""

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
import jwt

from contracts.person import contains_person_id
from services.runtime.identity import Caller
from services.runtime.jwt_issuers import IssuerConfig
from services.runtime.vouching import NotVouched, vouched_caller

log = logging.getLogger(__name__)

USER_SHAPE = re.compile(r"^[!-~]{1,128}$")
KEYS_FRESH_SECONDS = 300.0  # how long a fetched JWKS is used before it is fetched again
UNKNOWN_KID_REFETCH_SECONDS = 60.0  # a rotated key shows within a minute; a forged kid costs one fetch a minute
FIRST_FETCH_RETRY_SECONDS = 5.0  # while an issuer has never answered
FETCH_TIMEOUT_SECONDS = 5.0

# The key type (and curve) each algorithm verifies with: a token cannot choose another.
KEY_TYPE_OF = {
    **{alg: ("RSA", None) for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")},
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", None),
}

Fetch = Callable[[str], Awaitable[dict]]
Clock = Callable[[], float]


class InvalidToken(Exception):
    """The token proves no identity; `reason` is short and safe to tell the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IssuerKeysUnavailable(Exception):
    """The issuer's JWKS could not be fetched, so none of its tokens can be checked now."""


@dataclass(frozen=True)
class SigningKey:
    kid: str | None
    kty: str
    crv: str | None
    alg: str | None
    key: object  # a `cryptography` public key

    def verifies(self, alg: str) -> bool:
        if self.alg is not None and self.alg != alg:
            return False
        kty, crv = KEY_TYPE_OF.get(alg, (None, None))
        return self.kty == kty and (crv is None or self.crv == crv)


def signing_keys(jwks: dict) -> dict[str | None, SigningKey]:
    """The public signature keys of a JWKS by kid; symmetric, encryption and unreadable keys are left out."""
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("a JWKS is an object with a list of keys")
    keys = {}
    for jwk in jwks["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "EC", "OKP") or jwk.get("use", "sig") != "sig":
            continue
        try:
            parsed = jwt.PyJWK(jwk)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            log.warning("JWKS key left out: unreadable", extra={"kid": jwk.get("kid")})
            continue
        if hasattr(parsed.key, "private_bytes"):
            continue  # a private key published by mistake is not used
        keys[jwk.get("kid")] = SigningKey(jwk.get("kid"), jwk["kty"], jwk.get("crv"), jwk.get("alg"), parsed.key)
    return keys


async def fetch_jwks(uri: str) -> dict:
    """The JWKS document at an https://, http:// (loopback) or file:// address."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        text = await asyncio.to_thread(Path(url2pathname(parts.path)).read_text)
        return json.loads(text)
    async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = await client.get(uri, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()


class IssuerKeys:
    """One issuer's keys, fetched from its JWKS and kept fresh; rotated keys are found by refetching."""

    def __init__(self, config: IssuerConfig, fetch: Fetch = fetch_jwks, clock: Clock = time.monotonic) -> None:
        self.config = config
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str | None, SigningKey] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> SigningKey:
        if self._keys is None:
            await self._refresh(FIRST_FETCH_RETRY_SECONDS)
        elif self._clock() - self._fetched_at > KEYS_FRESH_SECONDS:
            await self._refresh(UNKNOWN_KID_REFETCH_SECONDS)
        if self._keys is None:
            raise IssuerKeysUnavailable(self.config.issuer)
        key = self._pick(kid)
        if key is None and kid is not None:
            await self._refresh(UNKNOWN_KID_REFETCH_SECONDS)
            key = self._pick(kid)
        if key is None:
            raise InvalidToken("unknown key")
        return key

    def _pick(self, kid: str | None) -> SigningKey | None:
        keys = self._keys or {}
        if kid is None and len(keys) == 1:  # an issuer with one key need not name it
            return next(iter(keys.values()))
        return keys.get(kid) if kid is not None else None

    async def _refresh(self, min_interval: float) -> None:
        """Fetch the JWKS again, unless someone tried within `min_interval`; on failure keep the old keys."""
        async with self._lock:
            if self._clock() - self._attempted_at < min_interval:
                return
            self._attempted_at = self._clock()
            try:
                self._keys = signing_keys(await self._fetch(self.config.jwks_uri))
                self._fetched_at = self._attempted_at
            except (httpx.HTTPError, OSError, ValueError) as exc:
                log.warning("JWKS fetch failed", extra={"issuer": self.config.issuer, "error": type(exc).__name__})


class JwtVerifier:
    """Tokens of the configured issuers, each checked with its own keys and rules."""

    def __init__(self, issuers: Iterable[IssuerConfig], fetch: Fetch = fetch_jwks, clock: Clock = time.monotonic):
        self._issuers = {config.issuer: IssuerKeys(config, fetch, clock) for config in issuers}

    async def caller_for(self, token: str) -> Caller:
        """The caller the token names, or InvalidToken saying why not."""
        header, unverified = _unverified(token)
        issuer = unverified.get("iss")
        keys = self._issuers.get(issuer) if isinstance(issuer, str) else None
        if keys is None:
            raise InvalidToken("unknown issuer")
        config = keys.config
        alg = header.get("alg")
        if alg not in config.algorithms:
            raise InvalidToken("algorithm not allowed")
        key = await keys.key_for(header.get("kid") if isinstance(header.get("kid"), str) else None)
        if not key.verifies(alg):
            raise InvalidToken("algorithm does not match the key")
        return _caller(_verified(token, key, alg, config), config)


def _unverified(token: str) -> tuple[dict, dict]:
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        raise InvalidToken("malformed token") from None
    return header, claims


def _verified(token: str, key: SigningKey, alg: str, config: IssuerConfig) -> dict:
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=config.audience,
            issuer=config.issuer,
            leeway=config.leeway_seconds,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad signature") from None
    except jwt.ExpiredSignatureError:
        raise InvalidToken("expired") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("not yet valid") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("wrong audience") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"missing claim {exc.claim}") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("invalid token") from None


def _caller(claims: dict, config: IssuerConfig) -> Caller:
    try:
        caller = vouched_caller(
            claims.get(config.principal_claim), claims.get(config.role_claim), config.principals, config.principal_claim
        )
    except NotVouched as exc:
        raise InvalidToken(exc.reason) from None
    return replace(caller, user=user_of(claims, config))


def user_of(claims: dict, config: IssuerConfig) -> str | None:
    """Who the token's holder is, as a short printable name for records: the HSA-id if the token
    carries one, else the provider's `sub`; None if neither is usable (or looks like a personnummer)."""
    for value in (claims.get(config.hsa_id_claim), claims.get("sub")):
        if isinstance(value, str) and USER_SHAPE.match(value) and not contains_person_id(value):
            return value
    return None

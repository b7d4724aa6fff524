"""JWTs checked against each issuer's own keys and rules, with a fake JWKS endpoint and a fake clock."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from services.runtime.identity import Caller, Role
from services.runtime.jwt_issuers import IssuerConfig
from services.runtime.jwt_verify import (
    FIRST_FETCH_RETRY_SECONDS,
    KEYS_FRESH_SECONDS,
    UNKNOWN_KID_REFETCH_SECONDS,
    InvalidToken,
    IssuerKeysUnavailable,
    JwtVerifier,
)

ALINGSAS, LERUM = "kommun-1489", "kommun-1441"
ALINGSAS_IDP, LERUM_IDP = "https://idp.alingsas.example", "https://idp.lerum.example"
ALINGSAS_JWKS, LERUM_JWKS = f"{ALINGSAS_IDP}/jwks.json", f"{LERUM_IDP}/jwks.json"


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def jwk(key, kid: str) -> dict:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}
    return {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdps:
    """JWKS documents by address; counts fetches; an address can be made to fail."""

    def __init__(self) -> None:
        self.documents: dict[str, dict] = {}
        self.fetches: dict[str, int] = {}
        self.down: set[str] = set()

    async def fetch(self, uri: str) -> dict:
        self.fetches[uri] = self.fetches.get(uri, 0) + 1
        if uri in self.down:
            raise httpx.ConnectError("connection refused")
        return self.documents[uri]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def alingsas_key():
    return ec_key()


@pytest.fixture
def lerum_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def idps(alingsas_key, lerum_key) -> FakeIdps:
    idps = FakeIdps()
    idps.documents[ALINGSAS_JWKS] = {"keys": [jwk(alingsas_key, "a1")]}
    idps.documents[LERUM_JWKS] = {"keys": [jwk(lerum_key, "l1")]}
    return idps


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(idps, clock) -> JwtVerifier:
    issuers = [
        IssuerConfig(issuer=ALINGSAS_IDP, principals=(ALINGSAS,), audience="samordna", jwks_uri=ALINGSAS_JWKS),
        IssuerConfig(issuer=LERUM_IDP, principals=(LERUM,), audience="samordna", jwks_uri=LERUM_JWKS),
    ]
    return JwtVerifier(issuers, idps.fetch, clock)


def token(key, kid: str | None = "a1", alg: str = "ES256", **changes) -> str:
    now = int(time.time())
    claims = {
        "iss": ALINGSAS_IDP,
        "aud": "samordna",
        "exp": now + 600,
        "nbf": now,
        "samordna_principal": ALINGSAS,
        "samordna_role": "system",
        **changes,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)


async def refused(verifier: JwtVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as refusal:
        await verifier.caller_for(token)
    return refusal.value.reason


async def test_a_good_token_gives_the_principal_and_role_from_its_claims(verifier, alingsas_key):
    assert await verifier.caller_for(token(alingsas_key)) == Caller(ALINGSAS, Role.SYSTEM)
    assert await verifier.caller_for(token(alingsas_key, samordna_role="coordinator")) == Caller(
        ALINGSAS, Role.COORDINATOR
    )


async def test_each_issuer_is_checked_with_its_own_keys(verifier, lerum_key):
    lerum = token(lerum_key, "l1", "RS256", iss=LERUM_IDP, samordna_principal=LERUM)

    assert await verifier.caller_for(lerum) == Caller(LERUM, Role.SYSTEM)


async def test_an_unknown_issuer_is_refused(verifier, alingsas_key):
    assert await refused(verifier, token(alingsas_key, iss="https://idp.elsewhere.example")) == "unknown issuer"
    assert await refused(verifier, token(alingsas_key, iss=None)) == "unknown issuer"


async def test_a_token_signed_with_another_key_under_the_issuers_kid_has_a_bad_signature(verifier):
    assert await refused(verifier, token(ec_key(), "a1")) == "bad signature"


async def test_a_tampered_payload_has_a_bad_signature(verifier, alingsas_key):
    header, _, signature = token(alingsas_key).split(".")
    now = int(time.time())
    claims = {"iss": ALINGSAS_IDP, "aud": "samordna", "exp": now + 600, "samordna_principal": ALINGSAS}
    forged = f"{header}.{b64(json.dumps({**claims, 'samordna_role': 'coordinator'}).encode())}.{signature}"

    assert await refused(verifier, forged) == "bad signature"


async def test_one_organisations_key_does_not_sign_for_another_issuer(verifier, lerum_key):
    """Lerum's IdP signs a token claiming Alingsås's issuer: Alingsås's JWKS has no such key."""
    as_alingsas = token(lerum_key, "l1", "RS256", iss=ALINGSAS_IDP)

    assert await refused(verifier, as_alingsas) == "unknown key"
    assert await refused(verifier, token(lerum_key, "a1", "RS256")) == "algorithm does not match the key"


async def test_an_issuer_cannot_vouch_for_another_principal(verifier, alingsas_key):
    claiming_lerum = token(alingsas_key, samordna_principal=LERUM)

    assert await refused(verifier, claiming_lerum) == "principal not allowed for this issuer"


async def test_an_expired_or_not_yet_valid_token_is_refused(verifier, alingsas_key):
    now = int(time.time())
    assert await refused(verifier, token(alingsas_key, exp=now - 120, nbf=now - 600)) == "expired"
    assert await refused(verifier, token(alingsas_key, nbf=now + 120)) == "not yet valid"


async def test_a_second_of_clock_skew_is_tolerated(verifier, alingsas_key):
    assert await verifier.caller_for(token(alingsas_key, exp=int(time.time()) - 1, nbf=None))


async def test_the_audience_and_expiry_are_required(verifier, alingsas_key):
    assert await refused(verifier, token(alingsas_key, aud="another-api")) == "wrong audience"
    assert await refused(verifier, token(alingsas_key, aud=None)) == "missing claim aud"
    assert await refused(verifier, token(alingsas_key, exp=None)) == "missing claim exp"


async def test_the_principal_and_a_known_role_are_required(verifier, alingsas_key):
    assert await refused(verifier, token(alingsas_key, samordna_principal=None)) == "missing claim samordna_principal"
    assert await refused(verifier, token(alingsas_key, samordna_role="admin")) == "unknown role"
    assert await refused(verifier, token(alingsas_key, samordna_role=None)) == "unknown role"


async def test_an_unsigned_token_is_refused(verifier):
    now = int(time.time())
    claims = {"iss": ALINGSAS_IDP, "aud": "samordna", "exp": now + 600}
    claims |= {"samordna_principal": ALINGSAS, "samordna_role": "system"}
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{header}.{b64(json.dumps(claims).encode())}."

    assert await refused(verifier, unsigned) == "algorithm not allowed"


async def test_hs256_with_the_issuers_public_key_as_secret_is_refused(verifier, alingsas_key):
    public_pem = alingsas_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": ALINGSAS_IDP, "aud": "samordna", "exp": now + 600}
    claims |= {"samordna_principal": ALINGSAS, "samordna_role": "system"}
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "a1"}).encode())
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()

    assert await refused(verifier, f"{signing_input}.{b64(mac)}") == "algorithm not allowed"


async def test_garbage_is_a_malformed_token(verifier):
    assert await refused(verifier, "abc.def.ghi") == "malformed token"


async def test_keys_are_fetched_once_and_again_when_no_longer_fresh(verifier, idps, clock, alingsas_key):
    await verifier.caller_for(token(alingsas_key))
    await verifier.caller_for(token(alingsas_key))
    assert idps.fetches[ALINGSAS_JWKS] == 1

    clock.now += KEYS_FRESH_SECONDS + 1
    await verifier.caller_for(token(alingsas_key))
    assert idps.fetches[ALINGSAS_JWKS] == 2


async def test_a_rotated_key_is_found_by_refetching_at_most_once_a_minute(verifier, idps, clock, alingsas_key):
    await verifier.caller_for(token(alingsas_key))
    clock.now += UNKNOWN_KID_REFETCH_SECONDS + 1
    new_key = ec_key()
    idps.documents[ALINGSAS_JWKS] = {"keys": [jwk(alingsas_key, "a1"), jwk(new_key, "a2")]}

    assert await verifier.caller_for(token(new_key, "a2")) == Caller(ALINGSAS, Role.SYSTEM)
    assert idps.fetches[ALINGSAS_JWKS] == 2

    assert await refused(verifier, token(ec_key(), "forged")) == "unknown key"
    assert idps.fetches[ALINGSAS_JWKS] == 2  # within the minute: no fetch for a made-up kid


async def test_an_issuer_that_cannot_be_reached_makes_its_tokens_unverifiable_not_invalid(
    verifier, idps, clock, alingsas_key
):
    idps.down.add(ALINGSAS_JWKS)
    with pytest.raises(IssuerKeysUnavailable):
        await verifier.caller_for(token(alingsas_key))
    with pytest.raises(IssuerKeysUnavailable):
        await verifier.caller_for(token(alingsas_key))
    assert idps.fetches[ALINGSAS_JWKS] == 1  # not again at once

    idps.down.clear()
    clock.now += FIRST_FETCH_RETRY_SECONDS + 1
    assert await verifier.caller_for(token(alingsas_key)) == Caller(ALINGSAS, Role.SYSTEM)


async def test_known_keys_are_kept_while_the_issuer_is_away(verifier, idps, clock, alingsas_key):
    await verifier.caller_for(token(alingsas_key))
    idps.down.add(ALINGSAS_JWKS)
    clock.now += KEYS_FRESH_SECONDS + 1

    assert await verifier.caller_for(token(alingsas_key)) == Caller(ALINGSAS, Role.SYSTEM)
    assert idps.fetches[ALINGSAS_JWKS] == 2


async def test_symmetric_and_private_keys_in_a_jwks_are_not_used(verifier, idps, alingsas_key):
    private = {**json.loads(ECAlgorithm.to_jwk(alingsas_key)), "kid": "a1"}
    secret = {"kty": "oct", "k": b64(b"shared secret"), "kid": "a1"}
    idps.documents[ALINGSAS_JWKS] = {"keys": [private, secret]}

    assert await refused(verifier, token(alingsas_key)) == "unknown key"


async def test_a_jwks_is_fetched_over_http(alingsas_key):
    body = json.dumps({"keys": [jwk(alingsas_key, "a1")]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the handler's name is fixed by http.server)
            self.send_response(200 if self.path == "/jwks.json" else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}/jwks.json"
        verifier = JwtVerifier(
            [IssuerConfig(issuer=ALINGSAS_IDP, principals=(ALINGSAS,), audience="samordna", jwks_uri=uri)]
        )
        assert await verifier.caller_for(token(alingsas_key)) == Caller(ALINGSAS, Role.SYSTEM)
    finally:
        server.shutdown()
        server.server_close()

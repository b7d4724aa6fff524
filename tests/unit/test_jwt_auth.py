"""Bearer JWTs and static tokens through the same `require(...)`, on routes with no database,
and the local stack's test JWTs (deploy/jwt.py) verified as the services verify them."""

import stat
import time

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI

from deploy.jwt import ensure_key, issue, write_issuers
from services.runtime.auth import Caller, Role, TokenRegistry, digest, require
from services.runtime.jwt_issuers import read_issuers
from services.runtime.jwt_verify import InvalidToken, JwtVerifier

ALINGSAS, LERUM = "kommun-1489", "kommun-1441"


@pytest.fixture
def state_dir(tmp_path):
    write_issuers(tmp_path, [ALINGSAS, LERUM, "ops"])
    return tmp_path


def gateway(principal: str, verifier: JwtVerifier | None) -> httpx.AsyncClient:
    """A gateway's route guard alone: one static token, and the JWT issuers of the local stack."""
    router = APIRouter()

    @router.get("/v1/inbox")
    async def inbox(caller: Caller = Depends(require(Role.SYSTEM, principal=principal))) -> dict:
        return {"principal": caller.principal, "role": caller.role}

    app = FastAPI()
    app.state.tokens = TokenRegistry({digest("static-token"): Caller(ALINGSAS, Role.SYSTEM)})
    app.state.jwt = verifier
    app.include_router(router)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def verifier_of(state_dir) -> JwtVerifier:
    return JwtVerifier(read_issuers(state_dir / "jwt" / "issuers.json"))


async def test_a_jwt_gives_the_same_caller_as_a_static_token(state_dir):
    async with gateway(ALINGSAS, verifier_of(state_dir)) as api:
        by_jwt = await api.get("/v1/inbox", headers=bearer(issue(state_dir, ALINGSAS, "system")))
        by_static = await api.get("/v1/inbox", headers=bearer("static-token"))

    assert by_jwt.status_code == by_static.status_code == 200
    assert by_jwt.json() == by_static.json() == {"principal": ALINGSAS, "role": "system"}


async def test_a_jwt_for_another_principal_or_role_gets_403(state_dir):
    async with gateway(LERUM, verifier_of(state_dir)) as lerum:
        other_principal = await lerum.get("/v1/inbox", headers=bearer(issue(state_dir, ALINGSAS, "system")))
    async with gateway(ALINGSAS, verifier_of(state_dir)) as alingsas:
        coordinator = await alingsas.get("/v1/inbox", headers=bearer(issue(state_dir, ALINGSAS, "coordinator")))

    assert other_principal.status_code == coordinator.status_code == 403


async def test_a_refused_jwt_gets_401_saying_why(state_dir):
    unknown = issue(state_dir, ALINGSAS, "system", issuer="https://idp.elsewhere.example")
    claiming_lerum = issue(state_dir, LERUM, "system", issuer="https://idp.kommun-1489.local")

    async with gateway(ALINGSAS, verifier_of(state_dir)) as api:
        responses = [await api.get("/v1/inbox", headers=bearer(t)) for t in (unknown, claiming_lerum)]

    assert [r.status_code for r in responses] == [401, 401]
    assert [r.json()["detail"] for r in responses] == ["unknown issuer", "principal not allowed for this issuer"]
    assert (
        responses[0].headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="unknown issuer"'
    )


async def test_without_issuers_a_jwt_is_just_an_unknown_token(state_dir):
    async with gateway(ALINGSAS, None) as api:
        response = await api.get("/v1/inbox", headers=bearer(issue(state_dir, ALINGSAS, "system")))
        missing = await api.get("/v1/inbox")

    assert response.status_code == missing.status_code == 401
    assert response.json()["detail"] == "unknown bearer token"
    assert missing.headers["www-authenticate"] == "Bearer"


async def test_the_local_key_is_made_once_and_kept_private(state_dir):
    key_file = state_dir / "jwt" / "key.pem"
    before = key_file.read_bytes()

    write_issuers(state_dir, [ALINGSAS])
    ensure_key(state_dir)

    assert key_file.read_bytes() == before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_a_local_token_expires_after_its_minutes(state_dir):
    expired = issue(state_dir, ALINGSAS, "system", minutes=1, now=time.time() - 600)

    with pytest.raises(InvalidToken, match="expired"):
        await verifier_of(state_dir).caller_for(expired)


async def test_each_local_issuer_vouches_only_for_its_own_principal(state_dir):
    issuers = {config.issuer: config.principals for config in read_issuers(state_dir / "jwt" / "issuers.json")}

    assert issuers == {
        "https://idp.kommun-1489.local": (ALINGSAS,),
        "https://idp.kommun-1441.local": (LERUM,),
        "https://idp.ops.local": ("ops",),
    }
    assert await verifier_of(state_dir).caller_for(issue(state_dir, "ops", "ops")) == Caller("ops", Role.OPS)

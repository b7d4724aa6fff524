"""JWTs from the organisations' identity providers, against the running services.

The test stack signs them with its local key (deploy/jwt.py), one issuer per principal."""

import pytest

from deploy.jwt import issue
from tests.support.client import event

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"


@pytest.fixture
def jwt_for(running_stack):
    def jwt_for(principal: str, role: str = "system", **options) -> dict:
        return {"Authorization": f"Bearer {issue(running_stack.state_dir, principal, role, **options)}"}

    return jwt_for


async def test_a_municipality_systems_jwt_posts_to_its_own_gateway(client, jwt_for, person):
    response = await client.http.post(
        client.url(ALINGSAS, "/v1/events"), json=event(INTERVENTION_DECIDED, person), headers=jwt_for(ALINGSAS)
    )

    assert response.status_code == 202, response.text


async def test_a_municipality_systems_jwt_cannot_post_as_the_region_or_read_another_inbox(client, jwt_for, person):
    alingsas = jwt_for(ALINGSAS)

    as_region = await client.http.post(
        client.url(REGION, "/v1/events"), json=event(INTERVENTION_DECIDED, person), headers=alingsas
    )
    lerum_inbox = await client.http.get(client.url(LERUM, "/v1/inbox"), headers=alingsas)

    assert as_region.status_code == lerum_inbox.status_code == 403


async def test_one_organisations_token_claiming_anothers_principal_is_refused(client, jwt_for):
    claiming_lerum = jwt_for(LERUM, issuer="https://idp.kommun-1489.local")

    response = await client.http.get(client.url(LERUM, "/v1/inbox"), headers=claiming_lerum)

    assert response.status_code == 401
    assert response.json()["detail"] == "principal not allowed for this issuer"


async def test_a_jwt_from_an_unknown_issuer_gets_401(client, jwt_for):
    response = await client.http.get(
        client.url(ALINGSAS, "/v1/inbox"), headers=jwt_for(ALINGSAS, issuer="https://idp.elsewhere.example")
    )

    assert response.status_code == 401
    assert response.json()["detail"] == "unknown issuer"
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_a_jwt_with_a_tampered_signature_gets_401(client, jwt_for):
    scheme, token = jwt_for(ALINGSAS)["Authorization"].split(" ")
    header, payload, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"

    response = await client.http.get(
        client.url(ALINGSAS, "/v1/inbox"), headers={"Authorization": f"{scheme} {tampered}"}
    )

    assert response.status_code == 401
    assert response.json()["detail"] == "bad signature"


async def test_an_expired_jwt_gets_401(client, jwt_for):
    response = await client.http.get(client.url(ALINGSAS, "/v1/inbox"), headers=jwt_for(ALINGSAS, minutes=-5))

    assert response.status_code == 401
    assert response.json()["detail"] == "expired"


async def test_a_coordinators_and_ops_jwt_reach_the_board_in_their_roles(client, jwt_for):
    board = await client.http.get(client.url("board", "/v1/board"), headers=jwt_for(REGION, "coordinator"))
    ops = await client.http.get(client.url("board", "/v1/ops"), headers=jwt_for("ops", "ops"))
    system_at_ops = await client.http.get(client.url("board", "/v1/ops"), headers=jwt_for(REGION))

    assert (board.status_code, ops.status_code, system_at_ops.status_code) == (200, 200, 403)

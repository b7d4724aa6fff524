"""The workspace's plumbing, its pure parts: the user's tokens kept from the code exchange and when
they are refreshed, who a JWT's user is, a problem+json answer as field errors, and the session that
ends when its tokens cannot be renewed. (The real exchange, refresh and calls are the browser
tests', against Keycloak and the real services: tests/browser/test_workspace_*.py.)"""

from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.board.sessions import Kind
from services.board.upstream import SignInAgain, Upstream, answer_of, field_errors_of
from services.runtime.jwt_issuers import IssuerConfig
from services.runtime.jwt_verify import user_of
from services.runtime.oidc import RefreshFailed, Tokens, needs_refresh, tokens_from
from tests.support.personnummer import make_person_id
from tests.unit.fakes_board import InMemorySessions

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
CONFIG = IssuerConfig(
    issuer="https://idp.test", principals=("region-14",), audience="samordna", jwks_uri="https://idp.test/jwks"
)


def test_the_tokens_of_the_code_exchange_are_kept_with_their_expiry():
    tokens = tokens_from({"access_token": "a", "refresh_token": "r", "expires_in": 300}, now=1000.0)

    assert tokens == Tokens("a", "r", 1300.0)
    assert Tokens.from_dict(tokens.as_dict()) == tokens
    assert tokens_from({"access_token": "a", "expires_at": 1234}, now=0.0).expires_at == 1234.0


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one_and_no_access_token_is_refused():
    old = Tokens("a", "r", 1300.0)

    assert tokens_from({"access_token": "b", "expires_in": 60}, now=2000.0, previous=old) == Tokens("b", "r", 2060.0)
    with pytest.raises(ValueError):
        tokens_from({"token_type": "Bearer"}, now=0.0)


@given(st.floats(0, 10_000), st.floats(0, 10_000))
def test_a_token_is_refreshed_exactly_when_it_expires_within_the_margin(expires_at, now):
    assert needs_refresh(Tokens("a", "r", expires_at), now, margin=30) == (expires_at - now <= 30)


def test_the_user_of_a_token_is_its_hsa_id_else_its_subject_and_never_a_personnummer():
    person = make_person_id(NOW.date().replace(year=1984), 238)

    assert user_of({"hsa_id": "SE2321000014-E00000000001", "sub": "abc"}, CONFIG) == "SE2321000014-E00000000001"
    assert user_of({"sub": "5f0c-uuid"}, CONFIG) == "5f0c-uuid"
    assert user_of({"hsa_id": "with space", "sub": person}, CONFIG) is None


@given(st.lists(st.tuples(st.sampled_from(["person", "data.goals", "parties", "body"]), st.text(max_size=20))))
def test_a_problems_errors_become_the_first_message_per_field(errors):
    body = {"status": 422, "errors": [{"field": f, "message": m} for f, m in errors] + [{"field": 3}, "x"]}

    found = field_errors_of(body)

    assert set(found) == {f for f, _ in errors}
    assert all(found[f] == next(m for g, m in errors if g == f) for f in found)


def test_an_answer_keeps_the_detail_and_errors_of_a_problem_and_the_body_of_a_success():
    problem = httpx.Response(422, json={"detail": "the request is not valid: person", "errors": [
        {"field": "person", "message": "not a valid personnummer"}]})  # fmt: skip

    answer = answer_of(problem)

    assert (answer.ok, answer.detail, answer.errors) == (False, "the request is not valid: person",
                                                         {"person": "not a valid personnummer"})  # fmt: skip
    assert answer_of(httpx.Response(201, json={"id": "x"})).body == {"id": "x"}


class RefusingSignIn:
    async def refresh(self, key, tokens):
        raise RefreshFailed("invalid_grant")


class RenewingSignIn:
    async def refresh(self, key, tokens):
        return Tokens("new", tokens.refresh_token, 10_000.0)


async def staff_session(sessions, expires_at: float):
    tokens = Tokens("old", "r", expires_at).as_dict()
    return await sessions.create(Kind.STAFF, {"staff": {"principal": "region-14"}, "provider": "region-14",
                                              "tokens": tokens}, NOW)  # fmt: skip


async def test_a_token_about_to_expire_is_renewed_and_saved_and_one_that_cannot_be_ends_the_session():
    sessions = InMemorySessions()
    renewing = Upstream({}, sessions, RenewingSignIn(), clock=lambda: 1000.0)
    refusing = Upstream({}, sessions, RefusingSignIn(), clock=lambda: 1000.0)
    fresh, expiring, dead = [await staff_session(sessions, t) for t in (5000.0, 1010.0, 1010.0)]

    assert await renewing.access_token(fresh) == "old"
    assert await renewing.access_token(expiring) == "new"
    assert sessions.sessions[expiring.key].data["tokens"]["access_token"] == "new"
    with pytest.raises(SignInAgain):
        await refusing.access_token(dead)
    assert (await sessions.find(dead.key, Kind.STAFF, NOW))[0] is None

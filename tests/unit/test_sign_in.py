"""The pure parts of staff sign-in: what an issuer may vouch for (JWTs and ID tokens alike), the
claims of an ID token, a session's expiry and CSRF tokens, and the demo realms' users."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deploy.keycloak_realms import demo_users
from services.board.sessions import Ended, Kind, Session, Timeouts, csrf_matches, expiry
from services.runtime.identity import Caller, Role
from services.runtime.jwt_issuers import IssuerConfig
from services.runtime.oidc import SignInRefused, staff_from_claims, web_providers
from services.runtime.vouching import NotVouched, vouched_caller

ALINGSAS, REGION = "kommun-1489", "region-14"
ISSUER = "https://idp.alingsas.se"


def config(*principals: str, **more) -> IssuerConfig:
    return IssuerConfig(issuer=ISSUER, principals=principals, audience="samordna", jwks_uri=f"{ISSUER}/jwks", **more)


def claims(principal=ALINGSAS, role="coordinator", **more) -> dict:
    return {"iss": ISSUER, "sub": "u-1", "samordna_principal": principal, "samordna_role": role, **more}


PRINCIPALS = st.sampled_from([ALINGSAS, REGION, "kommun-1441", "ops"])
ROLES = st.sampled_from(["system", "coordinator", "ops"])


@given(principal=PRINCIPALS, role=ROLES, configured=st.sets(PRINCIPALS, min_size=1))
def test_an_issuer_vouches_only_for_its_principals_and_ops_only_if_configured_for_ops(principal, role, configured):
    try:
        caller = vouched_caller(principal, role, tuple(sorted(configured)), "samordna_principal")
    except NotVouched:
        assert principal not in configured or (role == "ops") != (principal == "ops")
    else:
        assert caller == Caller(principal, Role(role)) and principal in configured
        assert (caller.role is Role.OPS) == (principal == "ops")


def test_a_municipalitys_provider_cannot_make_its_own_staff_operations_staff():
    with pytest.raises(NotVouched, match="role ops only"):
        vouched_caller(ALINGSAS, "ops", (ALINGSAS,), "samordna_principal")


def test_the_staff_member_comes_from_the_configured_claims():
    staff = staff_from_claims(
        claims(hsa="SE2321000131-E000000000001", enhet="LARO-mottagningen", name="Anna Andersson"),
        config(ALINGSAS, hsa_id_claim="hsa", unit_claim="enhet"),
    )

    assert staff.caller == Caller(ALINGSAS, Role.COORDINATOR)
    assert (staff.subject, staff.name) == ("u-1", "Anna Andersson")
    assert (staff.hsa_id, staff.unit) == ("SE2321000131-E000000000001", "LARO-mottagningen")


@pytest.mark.parametrize(
    ("token_claims", "reason"),
    [
        (claims(principal=REGION), "principal not allowed"),
        (claims(role="system"), "does not sign in"),
        (claims(role="ops"), "role ops only"),
        ({**claims(), "iss": "https://idp.lerum.se"}, "another issuer"),
        ({k: v for k, v in claims().items() if k != "sub"}, "missing claim sub"),
        ({k: v for k, v in claims().items() if k != "samordna_principal"}, "missing claim samordna_principal"),
    ],
)
def test_an_id_token_that_proves_no_staff_member_here_is_refused(token_claims, reason):
    with pytest.raises(SignInRefused, match=reason):
        staff_from_claims(token_claims, config(ALINGSAS))


def test_only_issuers_with_a_client_file_are_offered_for_sign_in(tmp_path):
    client_file = tmp_path / "client.json"
    client_file.write_text(json.dumps({"client_id": "samordna-tavla", "client_secret": "s3cret"}))
    issuers = [config(ALINGSAS, client_file=client_file), config(REGION).model_copy(update={"issuer": "https://x"})]

    providers = web_providers(issuers, label_of=lambda p: p.upper())

    assert [(p.key, p.label, p.client_id) for p in providers] == [(ALINGSAS, ALINGSAS.upper(), "samordna-tavla")]


def test_a_client_file_without_a_secret_is_named(tmp_path):
    client_file = tmp_path / "client.json"
    client_file.write_text('{"client_id": "samordna-tavla"}')

    with pytest.raises(ValueError, match=str(client_file)):
        web_providers([config(ALINGSAS, client_file=client_file)])


T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
TIMEOUTS = Timeouts(idle=timedelta(minutes=30), absolute=timedelta(hours=10))


@given(
    since_start=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=12)),
    idle=st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=1)),
)
def test_a_session_ends_at_whichever_timeout_comes_first(since_start, idle):
    now = T0 + since_start
    last_seen = max(T0, now - idle)

    ended = expiry(T0, last_seen, now, TIMEOUTS)

    if since_start >= TIMEOUTS.absolute:
        assert ended is Ended.ABSOLUTE
    elif now - last_seen >= TIMEOUTS.idle:
        assert ended is Ended.IDLE
    else:
        assert ended is None


def test_a_csrf_token_matches_only_the_sessions_own():
    session = Session("k", Kind.STAFF, {"csrf": "the-token"}, T0, T0)

    assert csrf_matches(session, "the-token")
    assert not csrf_matches(session, "another") and not csrf_matches(session, "") and not csrf_matches(None, "x")
    assert not csrf_matches(Session("k", Kind.PENDING, {}, T0, T0), "")


def test_the_demo_realms_have_a_coordinator_each_ops_at_the_region_and_refused_users_on_request():
    principals = [REGION, ALINGSAS, "kommun-1441"]
    users = demo_users(principals, with_refused=True)

    assert {(u.realm, u.username, u.role) for u in users if not u.refused} == {
        (REGION, "samordnare", "coordinator"), (REGION, "drift", "ops"),
        (ALINGSAS, "samordnare", "coordinator"), ("kommun-1441", "samordnare", "coordinator"),
    }  # fmt: skip
    assert all(u.principal != u.realm or u.role == "ops" for u in users if u.refused)
    assert not [u for u in demo_users(principals) if u.refused]

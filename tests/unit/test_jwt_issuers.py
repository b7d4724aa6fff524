"""The JWT issuers file: read once at start-up, and refused with a message naming what is wrong."""

import json
from pathlib import Path

import pytest

from services.runtime.jwt_issuers import IssuersFileError, read_issuers
from services.runtime.settings import ConfigurationError, ServiceSettings

ALINGSAS = {
    "issuer": "https://idp.alingsas.se",
    "principals": ["kommun-1489"],
    "audience": "samordna",
    "jwks_uri": "https://idp.alingsas.se/jwks.json",
}


def issuers_file(tmp_path: Path, *issuers: dict) -> Path:
    path = tmp_path / "issuers.json"
    path.write_text(json.dumps({"issuers": list(issuers)}))
    return path


def problem(path: Path) -> str:
    with pytest.raises(IssuersFileError) as error:
        read_issuers(path)
    return str(error.value)


def test_an_issuer_gets_the_default_claims_and_asymmetric_algorithms(tmp_path):
    (alingsas,) = read_issuers(issuers_file(tmp_path, ALINGSAS))

    assert alingsas.principals == ("kommun-1489",)
    assert (alingsas.principal_claim, alingsas.role_claim) == ("samordna_principal", "samordna_role")
    assert alingsas.algorithms == ("RS256", "ES256")


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
def test_shared_secret_and_unsigned_algorithms_are_refused(tmp_path, algorithm):
    message = problem(issuers_file(tmp_path, {**ALINGSAS, "algorithms": ["ES256", algorithm]}))

    assert f"issuers.0.algorithms: {algorithm} not allowed" in message


@pytest.mark.parametrize(
    "uri", ["http://idp.alingsas.se/jwks.json", "file:relative/jwks.json", "ftp://idp.alingsas.se/jwks.json"]
)
def test_keys_come_over_https_from_a_file_or_from_the_loopback_interface(tmp_path, uri):
    assert "issuers.0.jwks_uri: must be https://" in problem(issuers_file(tmp_path, {**ALINGSAS, "jwks_uri": uri}))


def test_local_keys_may_come_from_a_file_or_plain_http_on_loopback(tmp_path):
    local = [
        {**ALINGSAS, "issuer": f"i{n}", "jwks_uri": uri}
        for n, uri in enumerate(["file:///srv/jwks.json", "http://127.0.0.1:9000/jwks.json"])
    ]

    assert len(read_issuers(issuers_file(tmp_path, *local))) == 2


def test_a_malformed_principal_or_a_missing_audience_is_named(tmp_path):
    missing_audience = {k: v for k, v in ALINGSAS.items() if k != "audience"}

    assert "issuers.0.principals.0" in problem(issuers_file(tmp_path, {**ALINGSAS, "principals": ["alingsas"]}))
    assert "issuers.0.audience: Field required" in problem(issuers_file(tmp_path, missing_audience))
    assert "issuers.0.principals" in problem(issuers_file(tmp_path, {**ALINGSAS, "principals": []}))


def test_an_issuer_listed_twice_is_refused(tmp_path):
    assert "listed more than once: https://idp.alingsas.se" in problem(issuers_file(tmp_path, ALINGSAS, ALINGSAS))


def test_a_missing_file_or_one_that_is_not_json_is_named(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{issuers")

    assert "cannot read" in problem(tmp_path / "absent.json")
    assert "is not JSON" in problem(broken)


def test_a_service_with_a_bad_issuers_file_does_not_start(tmp_path, monkeypatch):
    monkeypatch.setenv("SAMORDNA_JWT_ISSUERS_FILE", str(issuers_file(tmp_path, {**ALINGSAS, "algorithms": ["HS256"]})))

    with pytest.raises(ConfigurationError, match="SAMORDNA_JWT_ISSUERS_FILE: .*HS256 not allowed"):
        ServiceSettings()

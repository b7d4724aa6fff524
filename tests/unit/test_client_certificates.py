"""Mutual TLS for partner systems (services/runtime/client_certs.py): the gateway app served by
uvicorn over real TLS on 127.0.0.1, with certificates from the local CA in deploy/client_ca.py
(the SITHS function-certificate model) and from another CA. The stores are the in-memory fakes:
what is under test is the handshake, the subject read from it and its mapping to a caller."""

import asyncio
import json
import socket
import ssl

import httpx
import pytest
import uvicorn

from deploy.client_ca import ensure_ca, issue_client, issue_server
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.runtime.auth import TokenRegistry, digest
from services.runtime.client_certs import uvicorn_tls
from services.runtime.settings import ConfigurationError
from tests.unit.fakes_gateway import ALINGSAS, TOKENS, FakeGateway

ALINGSAS_CASE_SYSTEM = "SE2120001470-S000000000001"  # HSA-id of a function (system) at Alingsås
LERUM_SYSTEM = "SE2120001488-S000000000007"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca = ensure_ca(directory / "ca")
    other_ca = ensure_ca(directory / "other", common_name="Some other CA")
    mapping = directory / "client-certificates.json"
    mapping.write_text(
        json.dumps(
            {
                "certificates": [
                    {
                        "serial_number": ALINGSAS_CASE_SYSTEM,
                        "organization_identifier": "NTRSE-2120001470",
                        "principal": ALINGSAS,
                        "role": "system",
                    },
                    {"serial_number": LERUM_SYSTEM, "principal": "kommun-1441", "role": "system"},
                ]
            }
        )
    )
    return {
        "ca": ca,
        "server": issue_server(directory / "ca", ca),
        "alingsas": issue_client(directory / "ca", ca, ALINGSAS_CASE_SYSTEM, "Alingsås kommun", "2120001470", "Case"),
        "lerum": issue_client(directory / "ca", ca, LERUM_SYSTEM, "Lerums kommun", "2120001488", "Procapita"),
        "unmapped": issue_client(
            directory / "ca", ca, "SE2120001470-S000000000099", "Alingsås kommun", "2120001470", "X"
        ),
        "personal": issue_client(directory / "ca", ca, "196201205835", "Alingsås kommun", "2120001470", "Staff"),
        "forged": issue_client(
            directory / "other", other_ca, ALINGSAS_CASE_SYSTEM, "Alingsås kommun", "2120001470", "Case"
        ),
        "mapping": mapping,
    }


@pytest.fixture
async def gateway(pki):
    """The gateway app over HTTPS with client certificates asked for, on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = GatewaySettings(
        http_port=port,
        tls_cert_file=pki["server"].cert,
        tls_key_file=pki["server"].key,
        tls_client_ca_file=pki["ca"].cert,
        client_certificates_file=pki["mapping"],
    )
    app = create_app(settings, ALINGSAS, bootstrap=FakeGateway().bootstrap)
    app.state.tokens = TokenRegistry({digest(t): caller for t, caller in TOKENS.items()})
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", **uvicorn_tls(settings))
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"https://127.0.0.1:{port}"
    server.should_exit = True
    await task


def client(pki, who: str | None = None, **kwargs) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(pki["ca"].cert))
    if who is not None:
        context.load_cert_chain(str(pki[who].cert), str(pki[who].key))
    return httpx.AsyncClient(verify=context, **kwargs)


async def test_a_system_with_a_certificate_of_the_local_ca_is_its_principals_system(pki, gateway):
    async with client(pki, "alingsas") as http:
        response = await http.get(f"{gateway}/v1/inbox")

    assert response.status_code == 200, response.text


async def test_a_certificate_of_another_principal_gets_403_and_an_unmapped_one_401(pki, gateway):
    async with client(pki, "lerum") as lerum, client(pki, "unmapped") as unmapped:
        other = await lerum.get(f"{gateway}/v1/inbox")
        unknown = await unmapped.get(f"{gateway}/v1/inbox")

    assert other.status_code == 403
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "client certificate not mapped to a principal"


async def test_an_unmapped_personal_certificate_is_logged_without_its_personnummer(pki, gateway, caplog):
    caplog.set_level("INFO", logger="services.runtime.auth")
    async with client(pki, "personal") as personal:
        response = await personal.get(f"{gateway}/v1/inbox")

    assert response.status_code == 401
    [logged] = [r for r in caplog.records if r.getMessage() == "client certificate not mapped"]
    assert logged.serial_number == "<personnummer>"
    assert "196201205835" not in caplog.text and "196201205835" not in response.text


async def test_a_certificate_from_another_ca_is_refused_in_the_handshake(pki, gateway):
    async with client(pki, "forged") as http:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            response = await http.get(f"{gateway}/v1/inbox")
            # TLS 1.3: the server's refusal may arrive only with the first read
            assert response.status_code != 200


async def test_bearer_tokens_remain_with_no_certificate_and_no_token_is_401(pki, gateway):
    async with client(pki) as http:
        with_token = await http.get(f"{gateway}/v1/inbox", headers={"Authorization": "Bearer system-token"})
        without = await http.get(f"{gateway}/v1/inbox")

    assert with_token.status_code == 200
    assert without.status_code == 401


async def test_a_bearer_token_wins_over_a_certificate(pki, gateway):
    async with client(pki, "alingsas") as http:
        response = await http.get(f"{gateway}/v1/inbox", headers={"Authorization": "Bearer region-token"})

    assert response.status_code == 403  # the token's caller (region-14), not the certificate's


def test_the_document_names_mutual_tls_beside_the_bearer_schemes(pki):
    settings = GatewaySettings(
        tls_cert_file=pki["server"].cert,
        tls_key_file=pki["server"].key,
        tls_client_ca_file=pki["ca"].cert,
        client_certificates_file=pki["mapping"],
    )
    document = create_app(settings, ALINGSAS).openapi()

    assert document["components"]["securitySchemes"]["mutualTLS"]["type"] == "mutualTLS"
    assert {"mutualTLS": []} in document["paths"]["/v1/inbox"]["get"]["security"]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ("{", "JSONDecodeError"),
        ('{"certificates": [{"serial_number": "SE1-S1", "principal": "region-14", "role": "root"}]}', "ValueError"),
        ('{"certificates": [{"serial_number": "SE1-S1", "principal": "region-x", "role": "system"}]}', "region-x"),
    ],
)
def test_a_bad_mapping_file_stops_the_service_naming_the_setting(pki, tmp_path, content, named):
    mapping = tmp_path / "mapping.json"
    mapping.write_text(content)
    files = dict(tls_cert_file=pki["server"].cert, tls_key_file=pki["server"].key, tls_client_ca_file=pki["ca"].cert)

    with pytest.raises(ConfigurationError, match=f"SAMORDNA_CLIENT_CERTIFICATES_FILE: .*{named}"):
        GatewaySettings(**files, client_certificates_file=mapping)
    with pytest.raises(ConfigurationError, match="go together"):
        GatewaySettings(**files)

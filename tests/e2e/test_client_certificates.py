"""A partner system authenticated by its client certificate (mutual TLS) at a real gateway
process: a replica of Alingsås' gateway served over HTTPS with the local CA of
deploy/client_ca.py as its client CA, on the real Kafka and PostgreSQL. The certificate's
system posts an event and reads the inbox; another CA's certificate with the same subject is
refused in the handshake; a bearer token still works."""

import json
import ssl
import time

import httpx
import pytest

from deploy.client_ca import ensure_ca, issue_client, issue_server
from tests.support.client import event

CASE_SYSTEM = "SE2120001470-S000000000001"  # HSA-id of Alingsås' case system (a function certificate)
SIP_REQUESTED = "se.samordna.joint.sip.requested.v1"


@pytest.fixture(scope="module")
def tls_gateway(running_stack, tmp_path_factory):
    municipality = running_stack.municipalities[0]
    directory = tmp_path_factory.mktemp("mtls")
    ca = ensure_ca(directory / "ca")
    pki = {
        "ca": ca,
        "server": issue_server(directory / "ca", ca),
        "system": issue_client(directory / "ca", ca, CASE_SYSTEM, "Alingsås kommun", "2120001470", "case-system"),
        "forged": issue_client(
            directory / "other",
            ensure_ca(directory / "other", common_name="Not the site's CA"),
            CASE_SYSTEM,
            "Alingsås kommun",
            "2120001470",
            "case-system",
        ),
    }
    mapping = directory / "client-certificates.json"
    entry = {"serial_number": CASE_SYSTEM, "organization_identifier": "NTRSE-2120001470"}
    mapping.write_text(json.dumps({"certificates": [entry | {"principal": municipality, "role": "system"}]}))
    port = running_stack.service("board").port + 5  # in the stack's own block of ports
    key = f"{municipality}-mtls"
    running_stack.start_service(
        municipality,
        instance=key,
        port=port,
        extra_env={
            "SAMORDNA_TLS_CERT_FILE": str(pki["server"].cert),
            "SAMORDNA_TLS_KEY_FILE": str(pki["server"].key),
            "SAMORDNA_TLS_CLIENT_CA_FILE": str(ca.cert),
            "SAMORDNA_CLIENT_CERTIFICATES_FILE": str(mapping),
        },
    )
    base = f"https://127.0.0.1:{port}"
    try:
        _wait_ready(base, pki)
        yield base, pki, municipality
    finally:
        running_stack.stop_service(key)


def _wait_ready(base: str, pki: dict) -> None:
    deadline = time.monotonic() + 60
    with httpx.Client(verify=_context(pki)) as http:
        while True:
            try:
                if http.get(f"{base}/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{base} not ready")
            time.sleep(0.2)  # polling a process's readiness: there is no event to await


def _context(pki: dict, who: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki["ca"].cert))
    if who:
        context.load_cert_chain(str(pki[who].cert), str(pki[who].key))
    return context


async def test_the_certificates_system_posts_and_reads_its_inbox(tls_gateway, client, person):
    base, pki, municipality = tls_gateway
    body = event(SIP_REQUESTED, person)
    async with httpx.AsyncClient(verify=_context(pki, "system"), base_url=base, timeout=30) as http:
        posted = await http.post("/v1/events", json=body)
        inbox = await http.get("/v1/inbox", params={"limit": 1})
    # the same id posted with Alingsås' token: the same event again, or a conflict if changed
    again = await client.post_event(municipality, body)
    changed = await client.post_event(municipality, body | {"source": "/another/system"})

    assert posted.status_code == 202, posted.text
    assert inbox.status_code == 200
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    assert changed.status_code == 409


async def test_a_certificate_from_another_ca_is_refused(tls_gateway):
    base, pki, _ = tls_gateway
    async with httpx.AsyncClient(verify=_context(pki, "forged"), base_url=base) as http:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            await http.get("/v1/inbox")


async def test_a_bearer_token_still_works_over_tls_without_a_certificate(tls_gateway, running_stack):
    base, pki, municipality = tls_gateway
    token = running_stack.stack_info()["tokens"][municipality]["system"]
    async with httpx.AsyncClient(verify=_context(pki), base_url=base) as http:
        with_token = await http.get("/v1/inbox", headers={"Authorization": f"Bearer {token}"})
        without = await http.get("/v1/inbox")

    assert with_token.status_code == 200
    assert without.status_code == 401

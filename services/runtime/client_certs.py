"""Mutual TLS: a partner system authenticated by its client certificate, on the model of SITHS
function certificates (the system's HSA-id in the subject's `serialNumber`).

The service serves HTTPS (`SAMORDNA_TLS_CERT_FILE`, `SAMORDNA_TLS_KEY_FILE`) and, with
`SAMORDNA_TLS_CLIENT_CA_FILE`, asks every client for a certificate: one is optional (a bearer
token still authenticates), but one that the CA bundle does not verify ends the handshake.
A verified certificate's subject is put in the request's ASGI state by `CertificateH11Protocol`,
and `CertificateRegistry` (`SAMORDNA_CLIENT_CERTIFICATES_FILE`) maps it to a principal and a role:

    {"certificates": [{"serial_number": "SE2321000131-S000000000001",
                       "organization_identifier": "NTRSE-2321000131",
                       "principal": "region-14", "role": "system"}]}

`serial_number` must match; `organization_identifier` and `organization`, when given, too.
"""

import json
import ssl
from dataclasses import dataclass
from pathlib import Path

from uvicorn.protocols.http.h11_impl import H11Protocol

from contracts.principals import is_principal
from services.runtime.identity import Caller, Role

SUBJECT_STATE = "samordna_client_certificate_subject"


class CertificateH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, which also puts the verified client certificate's subject in the
    ASGI state of each request on the connection (uvicorn itself passes no certificate on)."""

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        ssl_object = transport.get_extra_info("ssl_object")
        certificate = ssl_object.getpeercert() if ssl_object is not None else None
        if certificate:  # only a certificate the CA bundle verified is given here
            self.app_state = {**self.app_state, SUBJECT_STATE: subject_of(certificate)}


def subject_of(certificate: dict) -> dict[str, str]:
    """The subject of `ssl.SSLSocket.getpeercert()` as {attribute: value}."""
    return {name: value for rdn in certificate.get("subject", ()) for name, value in rdn}


@dataclass(frozen=True)
class CertificateEntry:
    serial_number: str
    principal: str
    role: Role
    organization_identifier: str | None = None
    organization: str | None = None

    def matches(self, subject: dict[str, str]) -> bool:
        return (
            subject.get("serialNumber") == self.serial_number
            and self.organization_identifier in (None, subject.get("organizationIdentifier"))
            and self.organization in (None, subject.get("organizationName"))
        )


class CertificateRegistry:
    def __init__(self, entries: list[CertificateEntry]) -> None:
        self._entries = entries

    @classmethod
    def from_file(cls, path: Path) -> "CertificateRegistry":
        """The mapping, or ValueError saying what is wrong with the file."""
        try:
            entries = json.loads(path.read_text())["certificates"]
            registry = cls([CertificateEntry(**(e | {"role": Role(e["role"])})) for e in entries])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a client certificates file ({type(exc).__name__}: {exc})") from None
        unknown = [e.principal for e in registry._entries if not is_principal(e.principal)]
        if unknown:
            raise ValueError(f"not principals: {', '.join(unknown)}")
        return registry

    def caller_for(self, subject: dict[str, str]) -> Caller | None:
        entry = next((e for e in self._entries if e.matches(subject)), None)
        return Caller(entry.principal, entry.role) if entry else None


def load_certificates(settings) -> CertificateRegistry:
    path = getattr(settings, "client_certificates_file", None)
    return CertificateRegistry.from_file(path) if path is not None else CertificateRegistry([])


def certificate_subject(scope) -> dict[str, str] | None:
    return scope.get("state", {}).get(SUBJECT_STATE)


def uvicorn_tls(settings) -> dict:
    """uvicorn.run's TLS arguments from the settings (none: plain HTTP)."""
    if settings.tls_cert_file is None:
        return {}
    options = {"ssl_certfile": str(settings.tls_cert_file), "ssl_keyfile": str(settings.tls_key_file)}
    if settings.tls_client_ca_file is not None:
        options |= {
            "ssl_ca_certs": str(settings.tls_client_ca_file),
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,
            "http": CertificateH11Protocol,
        }
    return options

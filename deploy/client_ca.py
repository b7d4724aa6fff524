"""A local certificate authority for mutual TLS in development and the tests, on the model of
SITHS function certificates: a gateway's server certificate, and client certificates for
partner systems whose subject carries the system's HSA-id in `serialNumber` and the
organisation in `organizationName` and `organizationIdentifier` (`NTRSE-<organisationsnummer>`).

    python -m deploy.client_ca DIR                        # CA and a server certificate for 127.0.0.1
    python -m deploy.client_ca DIR --client HSA-ID ORG ORGNR NAME   # a client certificate

A real site uses the SITHS CA chain instead (docs/operations.md#client-certificates-mutual-tls).
"""

import argparse
import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write(directory: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Issued:
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return Issued(cert_path, key_path)


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
    )


def ensure_ca(directory: Path, name: str = "ca", common_name: str = "Samordna local development CA") -> Issued:
    """The CA in `directory` (made once): a self-signed certificate that may sign certificates only."""
    existing = Issued(directory / f"{name}.pem", directory / f"{name}.key")
    if existing.cert.exists() and existing.key.exists():
        return existing
    key = _key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Samordna development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )  # keyCertSign, cRLSign
        .sign(key, hashes.SHA256())
    )
    return _write(directory, name, cert, key)


def _load(issued: Issued) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(issued.cert.read_bytes())
    key = serialization.load_pem_private_key(issued.key.read_bytes(), password=None)
    return cert, key  # type: ignore[return-value]


def issue_server(
    directory: Path, ca: Issued, name: str = "server", hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
):
    """A server certificate for `hosts` (IP addresses and names), signed by the CA."""
    ca_cert, ca_key = _load(ca)
    key = _key()
    names = [
        x509.IPAddress(ipaddress.ip_address(h)) if h.replace(".", "").isdigit() else x509.DNSName(h) for h in hosts
    ]
    cert = (
        _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]), ca_cert.subject, key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _write(directory, name, cert, key)


def issue_client(
    directory: Path, ca: Issued, hsa_id: str, organization: str, organization_number: str, system_name: str
) -> Issued:
    """A function certificate of a partner's system: HSA-id in serialNumber, as SITHS puts it."""
    ca_cert, ca_key = _load(ca)
    key = _key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, f"NTRSE-{organization_number}"),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id),
            x509.NameAttribute(NameOID.COMMON_NAME, system_name),
        ]
    )
    cert = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _write(directory, hsa_id, cert, key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--client", nargs=4, metavar=("HSA_ID", "ORGANIZATION", "ORGANIZATION_NUMBER", "NAME"))
    args = parser.parse_args()
    ca = ensure_ca(args.directory)
    issued = issue_client(args.directory, ca, *args.client) if args.client else issue_server(args.directory, ca)
    print(f"CA {ca.cert}\ncertificate {issued.cert}\nkey {issued.key}")


if __name__ == "__main__":
    main()

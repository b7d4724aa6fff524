"""Test JWTs for the local stack, signed with a local key as an organisation's identity provider would.

    python -m deploy.jwt issue --principal kommun-1489 --role system [--minutes 60]

Each principal has its own issuer, https://idp.<principal>.local, allowed only that principal;
in the local stack they share one EC P-256 key, made once in <state>/jwt/key.pem.
"""

import argparse
import base64
import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

REPO = Path(__file__).resolve().parent.parent
AUDIENCE = "samordna"
ALGORITHM = "ES256"


def issuer_of(principal: str) -> str:
    return f"https://idp.{principal}.local"


def jwt_dir(state_dir: Path) -> Path:
    return state_dir / "jwt"


def ensure_key(state_dir: Path) -> ec.EllipticCurvePrivateKey:
    """The local signing key, made once and readable only by its owner."""
    path = jwt_dir(state_dir) / "key.pem"
    if path.exists():
        return serialization.load_pem_private_key(_read_complete(path), password=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made before (perhaps just now, by another process): use that one
        return serialization.load_pem_private_key(_read_complete(path), password=None)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


def _read_complete(path: Path, timeout: float = 5) -> bytes:
    deadline = time.monotonic() + timeout
    while b"END PRIVATE KEY" not in (data := path.read_bytes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return data


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict:
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": thumbprint(jwk), "alg": ALGORITHM, "use": "sig"}


def thumbprint(jwk: dict) -> str:
    """RFC 7638: the SHA-256 of the key's required members, base64url."""
    members = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(members.encode()).digest()).rstrip(b"=").decode()


def write_issuers(state_dir: Path, principals: list[str], more: list[dict] | None = None) -> Path:
    """<state>/jwt/jwks.json and issuers.json (one issuer per principal, and `more`, e.g. the
    identity provider's realms); returns the issuers file."""
    directory = jwt_dir(state_dir)
    jwks_file = directory / "jwks.json"
    _write_atomically(jwks_file, {"keys": [public_jwk(ensure_key(state_dir))]})
    issuers = [
        {
            "issuer": issuer_of(principal),
            "principals": [principal],
            "audience": AUDIENCE,
            "jwks_uri": jwks_file.resolve().as_uri(),
            "algorithms": [ALGORITHM],
        }
        for principal in principals
    ]
    issuers_file = directory / "issuers.json"
    _write_atomically(issuers_file, {"issuers": [*issuers, *(more or [])]})
    return issuers_file


def _write_atomically(path: Path, data: dict) -> None:
    """Services may be reading the file as it is rewritten; they see the old or the new one, whole."""
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    partial.write_text(json.dumps(data, indent=2) + "\n")
    partial.replace(path)


def issue(
    state_dir: Path,
    principal: str,
    role: str,
    *,
    minutes: float = 60,
    issuer: str | None = None,
    audience: str = AUDIENCE,
    now: float | None = None,
) -> str:
    """A JWT signed with the local key, by default from the principal's own local issuer."""
    key = ensure_key(state_dir)
    issued = int(now if now is not None else time.time())
    claims = {
        "iss": issuer or issuer_of(principal),
        "sub": f"{principal}/{role}",
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(minutes * 60),
        "jti": str(uuid.uuid4()),
        "samordna_principal": principal,
        "samordna_role": role,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": public_jwk(key)["kid"]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    issuing = commands.add_parser("issue", help="print a signed test JWT")
    issuing.add_argument("--principal", required=True, help="e.g. kommun-1489, region-14 or ops")
    issuing.add_argument("--role", required=True, choices=["system", "coordinator", "ops"])
    issuing.add_argument("--minutes", type=float, default=60, help="lifetime (default 60)")
    issuing.add_argument("--issuer", help="another issuer than https://idp.<principal>.local")
    issuing.add_argument("--state-dir", type=Path, default=REPO / ".local", help="default <repo>/.local")
    args = parser.parse_args()
    print(issue(args.state_dir, args.principal, args.role, minutes=args.minutes, issuer=args.issuer))


if __name__ == "__main__":
    main()

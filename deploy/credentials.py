"""The local stack's secrets and how a client proves who it is.

Development tokens (with their digests for the services), the services' Kafka passwords and the
pseudonym key are made once in <state>/secrets.json and kept across restarts, and so are the board's
client secrets at each realm of the identity provider; the administrator's Kafka password is
kafka.sh's; the JWT issuers are deploy/jwt.py's and the identity provider's realms. `kafka_env` and
`kafka_options` turn a user and its password into settings that connect to the brokers.
"""

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from deploy import access
from deploy.identity_provider import IdentityProvider

ADMIN_USER = "samordna-admin"  # made by kafka.sh when it formats the storage
KAFKA_PROTOCOL = "SASL_PLAINTEXT"
KAFKA_MECHANISM = "SCRAM-SHA-512"
TOKEN_ROLES = ("system", "coordinator")


@dataclass(frozen=True)
class Credentials:
    state_dir: Path
    principals: list[str]
    identity_provider: IdentityProvider | None = None

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.json"

    @property
    def tokens_file(self) -> Path:
        return self.state_dir / "tokens.json"

    @property
    def kafka_ca_file(self) -> Path:
        """The local CA that signed the brokers' TLS certificate (kafka.sh)."""
        return self.state_dir / "kafka" / "tls" / "ca.crt"

    @property
    def admin_credentials_file(self) -> Path:
        return self.state_dir / "kafka" / "credentials.env"

    def ensure_secrets(self) -> dict:
        """Development tokens, Kafka passwords and the pseudonym key, made once and kept across restarts."""
        data = json.loads(self.secrets_file.read_text()) if self.secrets_file.exists() else {}
        kafka_users = access.users(self.principals)
        principals = set(self.principals)  # another principals file (SAMORDNA_PRINCIPALS) adds what it names
        if (
            set(data.get("kafka", ())) == set(kafka_users)
            and principals <= set(data.get("tokens", ()))
            and principals <= set(data.get("oidc_clients", ()))
        ):
            return data
        tokens = data.get("tokens") or {}
        for principal in self.principals:
            tokens.setdefault(principal, {role: secrets.token_urlsafe(24) for role in TOKEN_ROLES})
        tokens.setdefault("ops", {"ops": secrets.token_urlsafe(24)})
        kafka = {user: data.get("kafka", {}).get(user) or secrets.token_urlsafe(24) for user in kafka_users}
        data = {
            "pseudonym_secret": data.get("pseudonym_secret") or secrets.token_hex(32),
            "tokens": tokens,
            "kafka": kafka,
            "oidc_clients": {p: secrets.token_urlsafe(32) for p in self.principals} | data.get("oidc_clients", {}),
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.secrets_file.touch(mode=0o600)
        self.secrets_file.write_text(json.dumps(data, indent=2))
        self._write_token_digests(tokens)
        return data

    def _write_token_digests(self, tokens: dict) -> None:
        """tokens.json: what the services check a bearer token against, without the tokens themselves."""
        from services.runtime.auth import digest

        entries = [
            {"sha256": digest(token), "principal": principal, "role": role}
            for principal, roles in tokens.items()
            for role, token in roles.items()
        ]
        self.tokens_file.write_text(json.dumps({"tokens": entries}, indent=2))

    def kafka_password(self, user: str) -> str:
        if user == ADMIN_USER:
            lines = self.admin_credentials_file.read_text().splitlines()
            return dict(line.split("=", 1) for line in lines if "=" in line)["KAFKA_ADMIN_PASSWORD"]
        return self.ensure_secrets()["kafka"][user]

    def oidc_clients(self) -> dict[str, str]:
        """The board's client secret at each principal's realm, of the principals described now."""
        return {p: secret for p, secret in self.ensure_secrets()["oidc_clients"].items() if p in self.principals}

    def ensure_jwt_issuers(self) -> Path:
        """The local JWT key (made once), its JWKS and one issuer per principal; see deploy/jwt.py."""
        from deploy.jwt import write_issuers

        provider = self.identity_provider
        realms = provider.issuers(self.oidc_clients(), self.state_dir / "oidc") if provider else []
        return write_issuers(self.state_dir, [*self.principals, "ops"], realms)


def kafka_client_env(bootstrap: str, user: str, password: str) -> dict[str, str]:
    """The SAMORDNA_KAFKA_* settings that connect as `user`."""
    return {
        "SAMORDNA_KAFKA_BOOTSTRAP": bootstrap,
        "SAMORDNA_KAFKA_SECURITY_PROTOCOL": KAFKA_PROTOCOL,
        "SAMORDNA_KAFKA_SASL_MECHANISM": KAFKA_MECHANISM,
        "SAMORDNA_KAFKA_USERNAME": user,
        "SAMORDNA_KAFKA_PASSWORD": password,
    }


def kafka_client_options(bootstrap: str, user: str, password: str) -> dict:
    """aiokafka keyword arguments that connect as `user`."""
    return {
        "bootstrap_servers": bootstrap.split(","),
        "security_protocol": KAFKA_PROTOCOL,
        "sasl_mechanism": KAFKA_MECHANISM,
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


def settings_from_env(env: dict[str, str]):
    """ServiceSettings from an env dict: SAMORDNA_KAFKA_USERNAME=x becomes kafka_username=x."""
    from services.runtime.settings import ServiceSettings

    return ServiceSettings(**{name.removeprefix("SAMORDNA_").lower(): value for name, value in env.items()})

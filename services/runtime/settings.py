"""Settings every service shares; each service extends them with its own."""

from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.client_certs import CertificateRegistry
from services.runtime.jwt_issuers import IssuersFileError, read_issuers

DEVELOPMENT_PSEUDONYM_SECRET = "samordna-development-only-secret"  # noqa: S105 (refused in production)


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe for the environment the service runs in."""


class ServiceSettings(BaseSettings):
    # An empty variable counts as unset (`SAMORDNA_X=` in an env file, a Compose `${X:-}`).
    model_config = SettingsConfigDict(env_prefix="SAMORDNA_", extra="ignore", env_ignore_empty=True)

    # A service with an API that pseudonymises persons; a one-off Kafka tool (deploy/setup.py) is not,
    # and needs neither the pseudonym key nor API identities in production.
    serves_api: ClassVar[bool] = True

    environment: Literal["development", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:19092"
    # How this service authenticates to Kafka: its own SCRAM user, over TLS in real deployments.
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_username: str | None = None
    kafka_password: SecretStr | None = None
    # or the file that holds it (a mounted Docker or Kubernetes secret); see deploy/setup.py
    kafka_password_file: Path | None = None
    kafka_ca_file: Path | None = None  # CA bundle that signed the brokers' certificates (SASL_SSL)
    # how long a producer waits for the broker before a request (and a queued batch) counts as failed
    kafka_producer_request_timeout_ms: int = Field(default=40_000, ge=1_000, le=600_000)
    # Organisations' identity providers whose JWTs the API accepts (see services/runtime/auth.py).
    jwt_issuers_file: Path | None = None
    database_url: str = "postgresql://postgres@127.0.0.1:15432/samordna"
    pseudonym_secret: SecretStr | None = None
    tokens_file: Path | None = None
    # HTTPS and mutual TLS (services/runtime/client_certs.py): the service's certificate and key,
    # the CA bundle that client certificates must chain to, and which certificate is which caller.
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    client_certificates_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> "ServiceSettings":
        self._read_kafka_password_file()
        if self.environment == "production":
            if self.serves_api:
                if self.pseudonym_secret is None:
                    raise ConfigurationError("SAMORDNA_PSEUDONYM_SECRET must be set in production")
                if self.pseudonym_secret.get_secret_value() == DEVELOPMENT_PSEUDONYM_SECRET:
                    raise ConfigurationError("SAMORDNA_PSEUDONYM_SECRET is the development default")
                if self.tokens_file is None and self.jwt_issuers_file is None:
                    raise ConfigurationError(
                        "SAMORDNA_TOKENS_FILE or SAMORDNA_JWT_ISSUERS_FILE must be set in production"
                    )
            if self.kafka_security_protocol == "PLAINTEXT":
                raise ConfigurationError(
                    "SAMORDNA_KAFKA_SECURITY_PROTOCOL must be SASL_SSL or SASL_PLAINTEXT in production"
                )
        if self.kafka_ca_file is not None and not self.kafka_ca_file.is_file():
            raise ConfigurationError(f"SAMORDNA_KAFKA_CA_FILE: no such file: {self.kafka_ca_file}")
        if self.kafka_security_protocol != "PLAINTEXT" and not (self.kafka_username and self.kafka_password):
            raise ConfigurationError(
                f"SAMORDNA_KAFKA_USERNAME and SAMORDNA_KAFKA_PASSWORD are needed with {self.kafka_security_protocol}"
            )
        return self

    def _read_kafka_password_file(self) -> None:
        if self.kafka_password_file is None:
            return
        if self.kafka_password is not None:
            raise ConfigurationError("set SAMORDNA_KAFKA_PASSWORD or SAMORDNA_KAFKA_PASSWORD_FILE, not both")
        path = self.kafka_password_file
        try:
            password = path.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"SAMORDNA_KAFKA_PASSWORD_FILE: {exc.strerror}: {path}") from None
        if not password:
            raise ConfigurationError(f"SAMORDNA_KAFKA_PASSWORD_FILE: {path} is empty")
        self.kafka_password = SecretStr(password)

    @model_validator(mode="after")
    def _tls_complete(self) -> "ServiceSettings":
        files = {
            "SAMORDNA_TLS_CERT_FILE": self.tls_cert_file,
            "SAMORDNA_TLS_KEY_FILE": self.tls_key_file,
            "SAMORDNA_TLS_CLIENT_CA_FILE": self.tls_client_ca_file,
            "SAMORDNA_CLIENT_CERTIFICATES_FILE": self.client_certificates_file,
        }
        for name, path in files.items():
            if path is not None and not path.is_file():
                raise ConfigurationError(f"{name}: no such file: {path}")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ConfigurationError("SAMORDNA_TLS_CERT_FILE and SAMORDNA_TLS_KEY_FILE go together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ConfigurationError("SAMORDNA_TLS_CLIENT_CA_FILE needs SAMORDNA_TLS_CERT_FILE (mutual TLS is TLS)")
        if (self.tls_client_ca_file is None) != (self.client_certificates_file is None):
            raise ConfigurationError("SAMORDNA_TLS_CLIENT_CA_FILE and SAMORDNA_CLIENT_CERTIFICATES_FILE go together")
        if self.client_certificates_file is not None:
            try:
                CertificateRegistry.from_file(self.client_certificates_file)
            except ValueError as exc:
                raise ConfigurationError(f"SAMORDNA_CLIENT_CERTIFICATES_FILE: {exc}") from None
        return self

    @model_validator(mode="after")
    def _jwt_issuers_readable(self) -> "ServiceSettings":
        if self.jwt_issuers_file is not None:
            try:
                read_issuers(self.jwt_issuers_file)
            except IssuersFileError as exc:
                raise ConfigurationError(f"SAMORDNA_JWT_ISSUERS_FILE: {exc}") from None
        return self

    @property
    def pseudonym_key(self) -> bytes:
        secret = self.pseudonym_secret.get_secret_value() if self.pseudonym_secret else DEVELOPMENT_PSEUDONYM_SECRET
        return secret.encode()


class AccessLoggingSettings(ServiceSettings):
    """A service that keeps an access log (services/runtime/access_log.py): five years at least, by law."""

    access_log_retention_days: int = Field(5 * 365 + 2, ge=5 * 365 + 2)

    @property
    def access_log_retention(self) -> timedelta:
        return timedelta(days=self.access_log_retention_days)

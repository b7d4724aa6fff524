"""Settings every service shares; each service extends them with its own."""

from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_PSEUDONYM_SECRET = "samordna-development-only-secret"  # noqa: S105 (refused in production)


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe for the environment the service runs in."""


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAMORDNA_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    kafka_bootstrap: str = "127.0.0.1:19092"
    database_url: str = "postgresql://postgres@127.0.0.1:15432/samordna"
    pseudonym_secret: SecretStr | None = None
    tokens_file: Path | None = None
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _production_needs_secrets(self) -> "ServiceSettings":
        if self.environment == "production":
            if self.pseudonym_secret is None:
                raise ConfigurationError("SAMORDNA_PSEUDONYM_SECRET must be set in production")
            if self.pseudonym_secret.get_secret_value() == DEVELOPMENT_PSEUDONYM_SECRET:
                raise ConfigurationError("SAMORDNA_PSEUDONYM_SECRET is the development default")
            if self.tokens_file is None:
                raise ConfigurationError("SAMORDNA_TOKENS_FILE must be set in production")
        return self

    @property
    def pseudonym_key(self) -> bytes:
        secret = self.pseudonym_secret.get_secret_value() if self.pseudonym_secret else DEVELOPMENT_PSEUDONYM_SECRET
        return secret.encode()

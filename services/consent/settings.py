from pathlib import Path

from pydantic import Field, SecretStr, model_validator

from services.runtime.settings import AccessLoggingSettings, ConfigurationError

DEFAULT_STATUTORY_POLICY = Path(__file__).with_name("statutory_bases.json")
DEVELOPMENT_AUDIT_KEY = "samordna-development-only-audit-key"  # noqa: S105 (refused in production)


class ConsentSettings(AccessLoggingSettings):
    http_port: int = 8010
    db_schema: str = "consent"
    gate_instance_id: str = "gate-0"
    # How long the gate waits for more records to fill a short batch: one transaction for a
    # trickle instead of one each (docs/performance.md, "The gate")
    gate_linger_ms: float = Field(5.0, ge=0, le=1000)
    statutory_policy_file: Path = DEFAULT_STATUTORY_POLICY
    expiry_scan_seconds: float = 60.0
    # From a consent's revocation or expiry to the erasure of its key (docs/privacy.md)
    erasure_delay_seconds: float = 3600.0
    # How often the clear topics lose what their readers have taken, once keys were erased
    # (services/consent/log_erasure.py); 0: never by the service (`python -m
    # services.consent.log_erasure` runs a pass by hand)
    log_erasure_seconds: float = Field(60.0, ge=0)
    # The key of the audit chain's HMAC and of its checkpoints' signatures: never in the database,
    # so whoever can rewrite the audit table cannot recompute it (docs/audit.md).
    audit_key: SecretStr | None = None
    audit_key_file: Path | None = None  # or the file that holds it (a mounted secret)
    audit_checkpoint_seconds: float = 60.0

    @model_validator(mode="after")
    def _audit_key_is_safe(self) -> "ConsentSettings":
        if self.audit_key_file is not None:
            if self.audit_key is not None:
                raise ConfigurationError("set SAMORDNA_AUDIT_KEY or SAMORDNA_AUDIT_KEY_FILE, not both")
            try:
                key = self.audit_key_file.read_text().strip()
            except OSError as exc:
                raise ConfigurationError(f"SAMORDNA_AUDIT_KEY_FILE: {exc.strerror}: {self.audit_key_file}") from None
            if not key:
                raise ConfigurationError(f"SAMORDNA_AUDIT_KEY_FILE: {self.audit_key_file} is empty")
            self.audit_key = SecretStr(key)
        if self.environment == "production":
            if self.audit_key is None:
                raise ConfigurationError("SAMORDNA_AUDIT_KEY or SAMORDNA_AUDIT_KEY_FILE must be set in production")
            if self.audit_key.get_secret_value() == DEVELOPMENT_AUDIT_KEY:
                raise ConfigurationError("SAMORDNA_AUDIT_KEY is the development default")
            # every service holds the pseudonym key; the audit key belongs to this one alone
            if self.pseudonym_secret and self.audit_key.get_secret_value() == self.pseudonym_secret.get_secret_value():
                raise ConfigurationError("SAMORDNA_AUDIT_KEY must not be the pseudonym secret")
        if self.erasure_delay_seconds < 0:
            raise ConfigurationError("SAMORDNA_ERASURE_DELAY_SECONDS must not be negative")
        if self.audit_checkpoint_seconds <= 0:
            raise ConfigurationError("SAMORDNA_AUDIT_CHECKPOINT_SECONDS must be positive")
        return self

    @property
    def audit_secret(self) -> bytes:
        return (self.audit_key.get_secret_value() if self.audit_key else DEVELOPMENT_AUDIT_KEY).encode()

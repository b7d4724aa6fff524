from pathlib import Path

from pydantic import Field, model_validator

from services.runtime.settings import AccessLoggingSettings, ConfigurationError


class BoardSettings(AccessLoggingSettings):
    http_port: int = 8020
    db_schema: str = "board"
    # the services the ops dashboard scrapes: JSON, name -> base URL, e.g. {"consent": "http://127.0.0.1:8010"};
    # the workspace pages call `consent` and the user's principal's gateway (by its principal) at these too
    metrics_targets: dict[str, str] = {}
    ops_scan_seconds: float = 15.0
    # where the consent service keeps the keys of the sealed records (services/consent/erasure.py)
    erasure_keys_table: str = "consent.erasure_keys"
    alert_rules_file: Path | None = None  # thresholds of the alerts; default services/board/alert_rules.json
    # The web pages' address as the browser sees it, e.g. https://tavla.region.se behind the TLS proxy:
    # the sign-in's redirect URI is built from it, and with https the cookies are always Secure.
    public_url: str | None = None
    # Who may say, in X-Forwarded-Proto and X-Forwarded-For, that the browser came over https and from
    # where: the TLS proxy's address(es), comma-separated ("*" trusts any: only behind a private network).
    trusted_proxies: str = "127.0.0.1"
    session_idle_minutes: float = Field(30, gt=0, le=24 * 60)
    session_absolute_hours: float = Field(10, gt=0, le=7 * 24)
    access_log_purge_hours: float = Field(24, gt=0)

    @model_validator(mode="after")
    def _public_url_over_https_in_production(self) -> "BoardSettings":
        url = (self.public_url or "").rstrip("/")
        self.public_url = url or None
        if self.environment == "production" and not url.startswith("https://"):
            raise ConfigurationError("SAMORDNA_PUBLIC_URL must be the board's https:// address in production")
        return self

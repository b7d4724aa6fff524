from datetime import timedelta

from pydantic import AnyHttpUrl, Field, field_validator, model_validator

from contracts.principals import PrincipalId
from contracts.receipts import receipt_deadlines
from services.gateway.retention import Retention
from services.runtime.settings import AccessLoggingSettings, ConfigurationError


class GatewaySettings(AccessLoggingSettings):
    """Settings of one principal's gateway; the region and municipality entry points name the principal."""

    relay_batch_size: int = 500
    # Receipt deadlines per event type, overriding the catalogue's (contracts/receipts.py): JSON of ISO 8601 durations,
    # e.g. SAMORDNA_RECEIPT_DEADLINES='{"se.samordna.joint.sip.requested.v1": "P2D"}'.
    receipt_deadlines: dict[str, timedelta] = Field(default_factory=dict)
    receipt_scan_seconds: float = 30.0
    # Webhooks: a failed delivery is retried after first_retry, doubling up to max_retry (with
    # jitter), for retry_hours from its first attempt; then it is parked until resent.
    webhook_first_retry_seconds: float = Field(5.0, gt=0)
    webhook_max_retry_seconds: float = Field(3600.0, gt=0)
    webhook_retry_hours: float = Field(24.0, gt=0)
    webhook_timeout_seconds: float = Field(10.0, gt=0)
    # Requests in flight per subscription. The rate to one endpoint is at most this over its answer
    # time (16 at 50 ms: 320/s; 4 gave 80/s); each slot is one kept-alive connection.
    webhook_concurrency_per_endpoint: int = Field(16, ge=1, le=64)
    # How often due retries and new or deleted subscriptions are looked for; new inbox rows are
    # sent on the inbox writer's notification at once, and at the poll only if one was missed.
    webhook_poll_seconds: float = Field(1.0, gt=0)
    # Where webhooks may go (services/gateway/webhooks/targets.py): JSON of principal -> host names,
    # `*.example.se` for any host below; in production a principal with no list may name no host.
    webhook_allowed_hosts: dict[PrincipalId, list[str]] = Field(default_factory=dict)
    # Development and tests only: webhooks may reach loopback addresses (a receiver on 127.0.0.1).
    webhook_allow_loopback: bool = False

    @model_validator(mode="after")
    def _no_loopback_webhooks_in_production(self) -> "GatewaySettings":
        if self.environment == "production" and self.webhook_allow_loopback:
            raise ConfigurationError("SAMORDNA_WEBHOOK_ALLOW_LOOPBACK is for development only")
        return self

    # The gateway's address as partner systems reach it (behind the TLS proxy, say): the base of
    # the absolute URLs in FHIR answers and notifications. Default: http://<http_host>:<http_port>.
    public_url: AnyHttpUrl | None = None

    def fhir_base(self) -> str:
        root = str(self.public_url).rstrip("/") if self.public_url else f"http://{self.http_host}:{self.http_port}"
        return root + "/fhir"

    # How long the gateway's tables keep personal data (services/gateway/retention.py, docs/privacy.md)
    outbox_retention_hours: float = Field(168.0, gt=0)
    inbox_retention_hours: float = Field(720.0, gt=0)
    dead_letters_retention_hours: float = Field(720.0, gt=0)

    @property
    def retention(self) -> Retention:
        return Retention(
            outbox=timedelta(hours=self.outbox_retention_hours),
            inbox=timedelta(hours=self.inbox_retention_hours),
            dead_letters=timedelta(hours=self.dead_letters_retention_hours),
        )

    @field_validator("receipt_deadlines")
    @classmethod
    def _known_action_types(cls, overrides: dict[str, timedelta]) -> dict[str, timedelta]:
        return receipt_deadlines(overrides)


def schema_of(principal: str) -> str:
    return "gateway_" + principal.replace("-", "_")

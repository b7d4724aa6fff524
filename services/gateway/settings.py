from datetime import timedelta

from pydantic import Field, field_validator

from contracts.receipts import receipt_deadlines
from services.runtime.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings of one principal's gateway; the region and municipality entry points name the principal."""

    relay_batch_size: int = 500
    # Receipt deadlines per event type, overriding contracts/receipts.py: JSON of ISO 8601 durations,
    # e.g. SAMORDNA_RECEIPT_DEADLINES='{"se.samordna.joint.sip.requested.v1": "P2D"}'.
    receipt_deadlines: dict[str, timedelta] = Field(default_factory=dict)
    receipt_scan_seconds: float = 30.0

    @field_validator("receipt_deadlines")
    @classmethod
    def _known_action_types(cls, overrides: dict[str, timedelta]) -> dict[str, timedelta]:
        return receipt_deadlines(overrides)


def schema_of(principal: str) -> str:
    return "gateway_" + principal.replace("-", "_")

from services.runtime.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Settings of one principal's gateway; the region and municipality entry points name the principal."""

    relay_batch_size: int = 500


def schema_of(principal: str) -> str:
    return "gateway_" + principal.replace("-", "_")

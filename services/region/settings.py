"""The settings of a region's gateway: the gateway's, with the region named by its länskod."""

from pydantic import Field

from contracts.principals import region
from services.gateway.settings import GatewaySettings


class RegionSettings(GatewaySettings):
    lanskod: str = Field("14", pattern=r"^\d{2}$")
    http_port: int = 8001

    @property
    def principal(self) -> str:
        return region(self.lanskod)

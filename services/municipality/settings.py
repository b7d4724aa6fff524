"""The settings of a municipality's gateway: the gateway's, with the municipality named by its kommunkod."""

from pydantic import Field

from contracts.principals import municipality
from services.gateway.settings import GatewaySettings


class MunicipalitySettings(GatewaySettings):
    kommunkod: str = Field(pattern=r"^\d{4}$")
    http_port: int = 8002

    @property
    def principal(self) -> str:
        return municipality(self.kommunkod)

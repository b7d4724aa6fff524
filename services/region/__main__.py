from pydantic import Field

from contracts.principals import region
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.runtime.serve import load_settings, serve


class RegionSettings(GatewaySettings):
    lanskod: str = Field("14", pattern=r"^\d{2}$")
    http_port: int = 8001


if __name__ == "__main__":
    settings = load_settings(RegionSettings)
    principal = region(settings.lanskod)
    serve(principal, create_app(settings, principal), settings)

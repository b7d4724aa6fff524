from pydantic import Field

from contracts.principals import municipality
from services.gateway.app import create_app
from services.gateway.settings import GatewaySettings
from services.runtime.serve import load_settings, serve


class MunicipalitySettings(GatewaySettings):
    kommunkod: str = Field(pattern=r"^\d{4}$")
    http_port: int = 8002


if __name__ == "__main__":
    settings = load_settings(MunicipalitySettings)
    principal = municipality(settings.kommunkod)
    serve(principal, create_app(settings, principal), settings)

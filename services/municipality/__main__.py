"""Runs a municipality's gateway (services/gateway/) with the municipality's settings."""

from services.gateway.app import create_app
from services.municipality.settings import MunicipalitySettings
from services.runtime.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(MunicipalitySettings)
    serve(settings.principal, create_app(settings, settings.principal), settings)

"""Runs the region's gateway (services/gateway/) with the region's settings."""

from services.gateway.app import create_app
from services.region.settings import RegionSettings
from services.runtime.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(RegionSettings)
    serve(settings.principal, create_app(settings, settings.principal), settings)

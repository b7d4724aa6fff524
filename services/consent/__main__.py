from services.consent.app import create_app
from services.consent.settings import ConsentSettings
from services.runtime.serve import load_settings, serve

if __name__ == "__main__":
    settings = load_settings(ConsentSettings)
    serve("consent", create_app(settings), settings)

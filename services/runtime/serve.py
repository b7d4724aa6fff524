"""Running a service process: settings validated first, logs configured, then uvicorn."""

import sys

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from services.runtime.client_certs import uvicorn_tls
from services.runtime.logs import configure_logging
from services.runtime.settings import ConfigurationError, ServiceSettings


def load_settings(settings_class: type[ServiceSettings]) -> ServiceSettings:
    """The settings from the environment, or exit with a message naming what is wrong."""
    try:
        return settings_class()
    except ValidationError as exc:
        problems = "; ".join(f"SAMORDNA_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        sys.exit(f"configuration error: {problems}")
    except ConfigurationError as exc:
        sys.exit(f"configuration error: {exc}")


def serve(service: str, app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(service, settings.log_level)
    # The standard event loop, not uvloop: uvloop raises RuntimeError ("unable to perform operation
    # on <TCPTransport closed=True>") where asyncio raises OSError, and aiokafka catches only
    # OSError — a consumer's group coordination task then dies for good after a broker outage and
    # every later fetch fails (aio-libs/aiokafka#1038; seen here in the fault soak).
    # X-Forwarded-Proto and -For count only from the trusted proxy (a service's `trusted_proxies`).
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        access_log=False,
        loop="asyncio",
        forwarded_allow_ips=getattr(settings, "trusted_proxies", None),
        **uvicorn_tls(settings),  # HTTPS, and client certificates (mutual TLS), when configured
    )

"""Running a service process: logs configured first, then uvicorn on the configured address."""

import uvicorn
from fastapi import FastAPI

from services.runtime.logs import configure_logging
from services.runtime.settings import ServiceSettings


def serve(service: str, app: FastAPI, settings: ServiceSettings) -> None:
    configure_logging(service, settings.log_level)
    uvicorn.run(app, host=settings.http_host, port=settings.http_port, log_config=None, access_log=False)

from services.runtime.settings import ServiceSettings


class BoardSettings(ServiceSettings):
    http_port: int = 8020
    db_schema: str = "board"

from pathlib import Path

from services.runtime.settings import ServiceSettings


class BoardSettings(ServiceSettings):
    http_port: int = 8020
    db_schema: str = "board"
    alert_rules_file: Path | None = None  # thresholds of the alerts; default services/board/alert_rules.json

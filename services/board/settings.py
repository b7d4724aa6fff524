from pathlib import Path

from services.runtime.settings import ServiceSettings


class BoardSettings(ServiceSettings):
    http_port: int = 8020
    db_schema: str = "board"
    # the services the ops dashboard scrapes: JSON, name -> base URL, e.g. {"consent": "http://127.0.0.1:8010"}
    metrics_targets: dict[str, str] = {}
    ops_scan_seconds: float = 15.0
    # where the consent service keeps the keys of the sealed records (services/consent/erasure.py)
    erasure_keys_table: str = "consent.erasure_keys"
    alert_rules_file: Path | None = None  # thresholds of the alerts; default services/board/alert_rules.json

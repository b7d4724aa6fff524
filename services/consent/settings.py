from pathlib import Path

from services.runtime.settings import ServiceSettings

DEFAULT_STATUTORY_POLICY = Path(__file__).with_name("statutory_bases.json")


class ConsentSettings(ServiceSettings):
    http_port: int = 8010
    db_schema: str = "consent"
    gate_instance_id: str = "gate-0"
    statutory_policy_file: Path = DEFAULT_STATUTORY_POLICY
    expiry_scan_seconds: float = 60.0

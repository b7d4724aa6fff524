"""Structured JSON logs. Callers log pseudonyms and ids, never a personnummer."""

import logging
import sys
import time

from pythonjsonlogger.json import JsonFormatter

REPEAT_WINDOW_SECONDS = 10.0


class KafkaClientRepeats(logging.Filter):
    """One record per distinct aiokafka message per window.

    With the broker away, aiokafka's producer retries its metadata request without a backoff
    (its sender loop waits only on the failed update) and logs two errors per attempt, thousands
    a second: a broker outage of 30 seconds wrote 300 000 lines per service. One of each per
    window says the same."""

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS) -> None:
        super().__init__()
        self._window = window
        self._last: dict[tuple, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        key = (record.name, record.levelno, record.getMessage())
        now = time.monotonic()
        if now - self._last.get(key, -self._window) < self._window:
            return False
        if len(self._last) > 1000:
            self._last.clear()
        self._last[key] = now
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(KafkaClientRepeats())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx and httpcore log every request with its URL at INFO: a webhook's URL may hold credentials
    for noisy in ("aiokafka", "uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

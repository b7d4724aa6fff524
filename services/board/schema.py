"""The board's tables (schema.sql, the web sessions and the access log), created by whoever opens
the board's pool first."""

from pathlib import Path

from services.board.sessions import SCHEMA_SQL as SESSIONS_SQL
from services.runtime.access_log import SCHEMA_SQL as ACCESS_LOG_SQL

SCHEMA_SQL = Path(__file__).with_name("schema.sql").read_text() + SESSIONS_SQL + ACCESS_LOG_SQL

"""The board's tables (schema.sql), created by whoever opens the board's pool first."""

from pathlib import Path

SCHEMA_SQL = Path(__file__).with_name("schema.sql").read_text()

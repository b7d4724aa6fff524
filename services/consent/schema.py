from pathlib import Path

SCHEMA_SQL = Path(__file__).with_name("schema.sql").read_text()

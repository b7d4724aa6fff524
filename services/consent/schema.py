from pathlib import Path

from services.runtime.outbox import OUTBOX_SQL

SCHEMA_SQL = OUTBOX_SQL + Path(__file__).with_name("schema.sql").read_text()

# The role the service's own queries run as; created and granted by schema.sql.
APP_ROLE = "samordna_consent_app"

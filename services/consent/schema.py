from pathlib import Path

SCHEMA_SQL = Path(__file__).with_name("schema.sql").read_text()

# The role the service's own queries run as; created and granted by schema.sql.
APP_ROLE = "samordna_consent_app"

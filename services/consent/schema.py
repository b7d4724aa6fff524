from pathlib import Path

from services.runtime.access_log import SCHEMA_SQL as ACCESS_LOG_SQL
from services.runtime.outbox import OUTBOX_SQL

# The access log after schema.sql, which creates the service's role: the role may add to the
# log and purge what is past the retention (the table's trigger refuses anything younger).
SCHEMA_SQL = (
    OUTBOX_SQL
    + Path(__file__).with_name("schema.sql").read_text()
    + ACCESS_LOG_SQL
    + """
GRANT SELECT, INSERT, DELETE ON access_log TO samordna_consent_app;
GRANT USAGE ON SEQUENCE access_log_id_seq TO samordna_consent_app;
"""
)

# The role the service's own queries run as; created and granted by schema.sql.
APP_ROLE = "samordna_consent_app"

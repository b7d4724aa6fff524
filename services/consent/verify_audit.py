"""Verify the audit trail's hash chain and name the first broken link.

    python -m services.consent.verify_audit      # exit 0 if intact, 1 if broken

Reads SAMORDNA_DATABASE_URL (and SAMORDNA_DB_SCHEMA) like the service does.
"""

import asyncio
import sys

import asyncpg

from services.consent.chain import first_broken_link
from services.consent.repository import audit_in_order
from services.consent.settings import ConsentSettings
from services.runtime.serve import load_settings


async def verify(dsn: str, schema: str) -> tuple[int, str | None]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        rows = await audit_in_order(conn)
    finally:
        await conn.close()
    return len(rows), first_broken_link(rows)


def main() -> None:
    settings = load_settings(ConsentSettings)
    count, broken = asyncio.run(verify(settings.database_url, settings.db_schema))
    if broken:
        print(f"audit chain BROKEN at {broken}")
        sys.exit(1)
    print(f"audit chain intact: {count} decisions")


if __name__ == "__main__":
    main()

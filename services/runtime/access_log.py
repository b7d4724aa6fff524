"""The access log the Patient Data Act (PDL 4 kap.) and HSLF-FS 2016:40 (4 kap. 9 §) ask for: every
view of a person's data and every change made through Samordna's pages or APIs, with who (user,
HSA-id, unit, principal), when, which person and what.

The person is named by the deployment's keyed pseudonym (services/runtime/pseudonym.py), the
board's handle: the log holds no personnummer, and the consent service, which holds the
personnummer of every person with a consent, resolves it. The table is append-only: a trigger
refuses UPDATE and TRUNCATE, and DELETE of any row younger than five years, whatever the
retention setting says (the purge, `purge`, removes what is older than the configured retention).

`search` answers the systematic follow-up (HSLF-FS 4 kap. 3 §: logs are checked regularly): a
principal reads what its own staff and systems looked at, optionally for one person and a period.
"""

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from services.runtime.identity import Caller

log = logging.getLogger(__name__)
LEGAL_MINIMUM = timedelta(days=5 * 365 + 2)  # five years, leap days included
SEARCH_LIMIT = 1000


@dataclass(frozen=True)
class Accessor:
    """Who looked: a signed-in member of staff, or a system's token (no user of its own)."""

    principal: str
    role: str
    user: str  # the provider's subject (issuer-qualified), or "token" for a static token
    name: str | None = None
    hsa_id: str | None = None
    unit: str | None = None

    @classmethod
    def of_token(cls, caller: Caller) -> "Accessor":
        """A bearer's: a member of staff's own JWT names its user (HSA-id, else subject: Caller.user)."""
        return cls(caller.principal, str(caller.role), caller.user or "token")


@dataclass(frozen=True)
class Access:
    """One entry: `action` names what was done (e.g. `board.timeline`), `person` the pseudonym."""

    who: Accessor
    action: str
    person: str
    detail: dict = field(default_factory=dict)


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS access_log (
    id               bigserial PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    principal        text NOT NULL,
    role             text NOT NULL,
    user_id          text NOT NULL,
    user_name        text,
    hsa_id           text,
    unit             text,
    person_pseudonym text NOT NULL,
    action           text NOT NULL,
    detail           jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS access_log_by_principal ON access_log (principal, at);
CREATE INDEX IF NOT EXISTS access_log_by_person ON access_log (person_pseudonym, at);

CREATE OR REPLACE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < now() - interval '5 years 2 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'access_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER IF EXISTS access_log_append_only ON access_log;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
DROP TRIGGER IF EXISTS access_log_no_truncate ON access_log;
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
"""


def retention_allowed(retention: timedelta) -> bool:
    return retention >= LEGAL_MINIMUM


class AccessLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, accesses: list[Access]) -> None:
        """Every entry, in one statement: a page of 50 rows is one write, not 50."""
        if not accesses:
            return
        await self._pool.executemany(
            "INSERT INTO access_log (principal, role, user_id, user_name, hsa_id, unit, person_pseudonym, action,"
            " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            [
                (a.who.principal, a.who.role, a.who.user, a.who.name, a.who.hsa_id, a.who.unit, a.person, a.action,
                 json.dumps(a.detail))
                for a in accesses
            ],
        )  # fmt: skip

    async def search(
        self, principal: str, person: str | None = None, since: datetime | None = None, until: datetime | None = None
    ) -> list[dict]:
        """What the principal's own staff and systems looked at, newest first."""
        rows = await self._pool.fetch(
            "SELECT at, principal, role, user_id, user_name, hsa_id, unit, person_pseudonym, action, detail"
            " FROM access_log WHERE principal = $1 AND ($2::text IS NULL OR person_pseudonym = $2)"
            " AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4)"
            " ORDER BY at DESC, id DESC LIMIT $5",
            principal, person, since, until, SEARCH_LIMIT,
        )  # fmt: skip
        return [
            {
                "at": r["at"].isoformat(), "principal": r["principal"], "role": r["role"], "user": r["user_id"],
                "name": r["user_name"], "hsa_id": r["hsa_id"], "unit": r["unit"], "person": r["person_pseudonym"],
                "action": r["action"], "detail": json.loads(r["detail"]),
            }
            for r in rows
        ]  # fmt: skip

    async def purge(self, retention: timedelta, now: datetime) -> int:
        """Remove entries older than `retention` (never less than the legal five years)."""
        if not retention_allowed(retention):
            raise ValueError("the access log is kept at least five years")
        result = await self._pool.execute("DELETE FROM access_log WHERE at < $1", now - retention)
        return int(result.split()[-1])


async def keep_purged(access_log: AccessLog, retention: timedelta, every: timedelta = timedelta(hours=24)) -> None:
    """Purge what is past the retention now and once per `every`, until cancelled."""
    while True:
        try:
            await access_log.purge(retention, datetime.now(UTC))
        except (asyncpg.PostgresError, OSError) as exc:  # the database away: the next round
            log.warning("access log not purged", extra={"error": type(exc).__name__})
        await asyncio.sleep(every.total_seconds())

"""In-memory stores of the consent service (the Protocols of services/consent/ports.py) and a
bootstrap that builds the real service layer over them, for ASGI tests with no database or broker."""

import hashlib
import json
from collections.abc import Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from asgi_lifespan import LifespanManager

from services.consent.app import create_app
from services.consent.audit import AuditTrail
from services.consent.bootstrap import ConsentDeps
from services.consent.consents import Consents
from services.consent.preview import Previews
from services.consent.settings import ConsentSettings
from services.runtime.pseudonym import Pseudonymizer

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeConsents:
    def __init__(self, clock) -> None:
        self.rows: dict[UUID, dict] = {}
        self.changes: list[tuple[UUID, str, str]] = []  # (consent, kind, by), in order
        self._clock = clock

    async def grant(self, record: Mapping[str, Any], by: str) -> dict:
        row = dict(record) | {"recorded_at": self._clock(), "revoked_at": None, "revoked_by_principal": None}
        self.rows[row["id"]] = row
        self.changes.append((row["id"], "granted", by))
        return dict(row)

    async def of_person(self, pseudonym: str) -> list[dict]:
        return [dict(r) for r in self.rows.values() if r["person_pseudonym"] == pseudonym]

    async def by_id(self, consent_id: UUID) -> dict | None:
        row = self.rows.get(consent_id)
        return dict(row) if row else None

    async def revoke(self, consent_id: UUID, by: str, reason: str | None = None) -> dict | None:
        row = self.rows[consent_id]
        if row["revoked_at"] is not None:
            return None
        row |= {"revoked_at": self._clock(), "revoked_by_principal": by, "revocation_reason": reason}
        self.changes.append((consent_id, "revoked", by))
        return dict(row)

    async def history(self, consent_id: UUID) -> list[dict]:
        return [
            {"kind": kind, "occurred_at": NOW, "event_id": f"consent-{cid}-{kind}"}
            for cid, kind, _ in self.changes
            if cid == consent_id
        ]


class FakeAudit:
    def __init__(self, clock) -> None:
        self.rows: list[dict] = []  # audit rows: the columns of AuditEntry and person_pseudonym
        self._clock = clock

    async def visible_to(self, pseudonym: str, principal: str) -> list[dict]:
        return [
            r
            for r in self.rows
            if r["person_pseudonym"] == pseudonym
            and (r["sender"] == principal or (r["recipient"] == principal and r["forwarded"]))
        ]

    async def seen_by(self, pseudonym: str, principal: str, lookback: timedelta) -> tuple[datetime, list[dict]]:
        now = self._clock()
        seen = {}
        for r in await self.visible_to(pseudonym, principal):
            if r["event_time"] >= now - lookback:
                seen.setdefault((r["event_id"], r["sender"]), r)
        return now, [
            {"event_id": r["event_id"], "principal": r["sender"], "type": r["event_type"], "category": r["category"],
             "time": r["event_time"]}
            for r in seen.values()
        ]  # fmt: skip


class FakeAccessLog:
    """The access log in memory: every entry recorded, in order (services/runtime/access_log.py)."""

    def __init__(self) -> None:
        self.entries: list = []  # Access
        self.times: list[datetime] = []  # when each was recorded

    async def record(self, accesses: list) -> None:
        self.entries.extend(accesses)
        self.times.extend(datetime.now(UTC) for _ in accesses)

    async def search(self, principal: str, person=None, since=None, until=None) -> list[dict]:
        return [
            {"at": at.isoformat(), "principal": a.who.principal, "role": a.who.role, "user": a.who.user,
             "name": a.who.name, "hsa_id": a.who.hsa_id, "unit": a.who.unit, "person": a.person,
             "action": a.action, "detail": a.detail}
            for at, a in reversed(list(zip(self.times, self.entries, strict=True)))
            if a.who.principal == principal and person in (None, a.person)
        ]  # fmt: skip


class FakeConsentService:
    """The stores, the changes the relay was woken for, and `bootstrap` for create_app."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now
        self.consents = FakeConsents(self.clock)
        self.audit = FakeAudit(self.clock)
        self.access_log = FakeAccessLog()
        self.wakes = 0

    def clock(self) -> datetime:
        return self.now

    def _woken(self) -> None:
        self.wakes += 1

    @asynccontextmanager
    async def bootstrap(self, settings: ConsentSettings):
        pseudonyms = Pseudonymizer(settings.pseudonym_key)
        self.pseudonyms = pseudonyms

        async def ready() -> bool:
            return True

        yield ConsentDeps(
            settings=settings,
            clock=self.clock,
            pseudonyms=pseudonyms,
            consents=Consents(self.consents, pseudonyms, changed=self._woken, access=self.access_log, clock=self.clock),
            audit=AuditTrail(self.audit, pseudonyms, self.access_log),
            previews=Previews(self.audit, pseudonyms, self.access_log),
            access_log=self.access_log,
            readiness={"postgres": ready, "kafka": ready},
        )


@asynccontextmanager
async def consent_api(tmp_path, callers: dict[str, tuple[str, str]], service: FakeConsentService | None = None):
    """An HTTP client of the real consent app over ASGI on `service` (a new one by default),
    which it keeps as `.service`; `callers` are the bearer tokens, {token: (principal, role)}."""
    service = service or FakeConsentService()
    settings = ConsentSettings(tokens_file=tokens_file(tmp_path / "tokens.json", callers))
    app = create_app(settings, bootstrap=service.bootstrap)
    transport = httpx.ASGITransport(app=app)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://consent") as client:
        client.service = service
        yield client


def tokens_file(path, callers: dict[str, tuple[str, str]]) -> str:
    """A tokens file for `{token: (principal, role)}`; returns its path."""
    entries = [
        {"sha256": hashlib.sha256(token.encode()).hexdigest(), "principal": principal, "role": role}
        for token, (principal, role) in callers.items()
    ]
    path.write_text(json.dumps({"tokens": entries}))
    return path

"""Recording, finding and revoking consents: the service layer behind the HTTP API."""

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts import CATALOGUE, PersonId
from contracts.catalogue import Category
from contracts.person import contains_person_id
from contracts.principals import PrincipalId
from contracts.text import LATEST_YEAR, refuse_implausible_date, refuse_unstorable
from services.consent.domain import SHAREABLE_CATEGORIES, Form
from services.consent.errors import ConsentNotFound, NotAParty
from services.consent.ports import AccessRecorder, ConsentStore, Row
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller
from services.runtime.pseudonym import Pseudonymizer

SWEDEN = ZoneInfo("Europe/Stockholm")
MAX_VALIDITY = relativedelta(years=1)


def _known_type(value: str) -> str:
    if value not in CATALOGUE:
        raise ValueError(f"unknown event type {value!r}")
    return value


def _shareable(value: Category) -> Category:
    if value not in SHAREABLE_CATEGORIES:
        raise ValueError(f"category {value} is not shared between principals")
    return value


def _no_person_id(value: str) -> str:
    if contains_person_id(value):
        raise ValueError("must not hold a personnummer; the person is named only in `person`")
    return value


ShareableCategory = Annotated[Category, AfterValidator(_shareable)]
EventType = Annotated[str, AfterValidator(_known_type)]
# Free text is shown on pages, in consent events and the log extract: storable, and no personnummer.
FreeText = Annotated[str, AfterValidator(refuse_unstorable), AfterValidator(_no_person_id)]
# Years 1900-2100, so that adding a year of validity (or a preview's lookback) cannot overflow.
Moment = Annotated[date | AwareDatetime, AfterValidator(refuse_implausible_date)]


def as_instant(value: date | datetime) -> datetime:
    """A date means the start of that day in Sweden."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.min, tzinfo=SWEDEN)


class RevokeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: FreeText | None = Field(
        default=None, max_length=500, description="why the person revoked, as recorded (optional; no personnummer)"
    )


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: PersonId
    parties: list[PrincipalId] = Field(min_length=2)
    categories: list[ShareableCategory] = Field(default_factory=lambda: sorted(SHAREABLE_CATEGORIES), min_length=1)
    excluded_categories: list[ShareableCategory] = []
    excluded_event_types: list[EventType] = []
    valid_from: Moment
    valid_until: Moment | None = None
    form: Form
    recorded_by: FreeText | None = Field(default=None, max_length=200, description="HSA-id or staff id")

    @field_validator("parties")
    @classmethod
    def _distinct(cls, parties: list[str]) -> list[str]:
        if len(set(parties)) != len(parties):
            raise ValueError("each principal may be named once")
        return parties

    @field_validator("valid_from")
    @classmethod
    def _leaves_a_year(cls, value: date | datetime) -> date | datetime:
        # the consent's events carry its end, which must stay inside the date window too
        if (as_instant(value) + MAX_VALIDITY).year > LATEST_YEAR:
            raise ValueError(f"must leave a year of validity before {LATEST_YEAR + 1}-01-01")
        return value

    @field_validator("valid_until")
    @classmethod
    def _within_a_year(cls, value: date | datetime | None, info: ValidationInfo) -> date | datetime | None:
        if value is None or "valid_from" not in info.data:
            return value
        start, end = as_instant(info.data["valid_from"]), as_instant(value)
        if end <= start:
            raise ValueError("must be after valid_from")
        if end > start + MAX_VALIDITY:
            raise ValueError("a consent is valid at most one year after valid_from")
        return value

    @property
    def starts(self) -> datetime:
        return as_instant(self.valid_from)

    @property
    def ends(self) -> datetime:
        return as_instant(self.valid_until) if self.valid_until is not None else self.starts + MAX_VALIDITY


class ConsentView(BaseModel):
    id: UUID
    person: str
    parties: list[str]
    categories: list[str]
    excluded_categories: list[str]
    excluded_event_types: list[str]
    valid_from: datetime
    valid_until: datetime
    form: str
    recorded_by: str | None
    recorded_by_principal: str
    recorded_at: datetime
    revoked_at: datetime | None
    revocation_reason: str | None = None
    status: Literal["active", "pending", "expired", "revoked"]

    @classmethod
    def of(cls, row: Row, now: datetime) -> "ConsentView":
        return cls(
            id=row["id"],
            person=row["person_id"],
            parties=row["parties"],
            categories=row["categories"],
            excluded_categories=row["excluded_categories"],
            excluded_event_types=row["excluded_types"],
            valid_from=row["valid_from"],
            valid_until=row["valid_until"],
            form=row["form"],
            recorded_by=row["recorded_by"],
            recorded_by_principal=row["recorded_by_principal"],
            recorded_at=row["recorded_at"],
            revoked_at=row["revoked_at"],
            revocation_reason=row.get("revocation_reason"),
            status=_status(row, now),
        )


def _changes(rows: list[Row]) -> list[dict]:
    return [{"kind": r["kind"], "occurred_at": r["occurred_at"], "event_id": r["event_id"]} for r in rows]


def _status(row: Row, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if now < row["valid_from"]:
        return "pending"
    return "active" if now < row["valid_until"] else "expired"


class Consents:
    """Recording, finding and revoking consents, as far as the caller's principal may."""

    def __init__(
        self,
        store: ConsentStore,
        pseudonyms: Pseudonymizer,
        changed: Callable[[], None],
        access: AccessRecorder,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._pseudonyms = pseudonyms
        self._changed = changed  # wakes the relay that publishes consent.changes
        self._access = access  # every look at and change of a person's consents (PDL, HSLF-FS)
        self._clock = clock

    async def record(self, caller: Caller, request: ConsentRequest) -> ConsentView:
        if caller.principal not in request.parties:
            raise NotAParty(caller.principal)
        record = {
            "id": uuid.uuid4(),
            "person_id": request.person,
            "person_pseudonym": self._pseudonyms.of(request.person),
            "parties": sorted(request.parties),
            "categories": sorted(request.categories),
            "excluded_categories": sorted(request.excluded_categories),
            "excluded_types": sorted(request.excluded_event_types),
            "valid_from": request.starts,
            "valid_until": request.ends,
            "form": request.form,
            "recorded_by": request.recorded_by,
            "recorded_by_principal": caller.principal,
        }
        row = await self._store.grant(record, caller.principal)
        self._changed()
        await self._logged(caller, "consent.record", row)
        return ConsentView.of(row, self._clock())

    async def of_person(self, caller: Caller, person: str) -> list[ConsentView]:
        pseudonym = self._pseudonyms.of(person)
        rows = await self._store.of_person(pseudonym)
        now = self._clock()
        found = [ConsentView.of(row, now) for row in rows if caller.principal in row["parties"]]
        await self._access.record(
            [Access(Accessor.of_token(caller), "consent.search", pseudonym, {"found": len(found)})]
        )
        return found

    async def with_history(self, caller: Caller, pseudonym: str) -> list[tuple[ConsentView, list[dict]]]:
        """The person's consents naming the caller's principal, each with its changes (for the log
        extract, which logs the look itself)."""
        now = self._clock()
        found = [row for row in await self._store.of_person(pseudonym) if caller.principal in row["parties"]]
        return [(ConsentView.of(row, now), _changes(await self._store.history(row["id"]))) for row in found]

    async def by_id(self, caller: Caller, consent_id: UUID) -> ConsentView:
        row = await self._named(caller, consent_id)
        await self._logged(caller, "consent.read", row)
        return ConsentView.of(row, self._clock())

    async def history(self, caller: Caller, consent_id: UUID) -> list[dict]:
        row = await self._named(caller, consent_id)
        rows = await self._store.history(consent_id)
        await self._logged(caller, "consent.history", row)
        return _changes(rows)

    async def revoke(self, caller: Caller, consent_id: UUID, reason: str | None = None) -> ConsentView:
        """Returns only once the revocation is committed, so no later decision can miss it."""
        row = await self._named(caller, consent_id)
        revoked = await self._store.revoke(consent_id, caller.principal, reason)
        self._changed()
        await self._logged(caller, "consent.revoke", row)
        return ConsentView.of(revoked or row, self._clock())

    async def _logged(self, caller: Caller, action: str, row: Row) -> None:
        detail = {"consent_id": str(row["id"])}
        await self._access.record([Access(Accessor.of_token(caller), action, row["person_pseudonym"], detail)])

    async def _named(self, caller: Caller, consent_id: UUID) -> Row:
        row = await self._store.by_id(consent_id)
        if row is None or caller.principal not in row["parties"]:
            raise ConsentNotFound(consent_id, caller.principal)
        return row

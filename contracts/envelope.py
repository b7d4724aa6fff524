"""The CloudEvents 1.0 envelope (structured JSON mode) and the records Samordna puts on Kafka.

`parse_event` is the one way in, at the HTTP edge and in every consumer alike.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.catalogue import Category, EventSpec, SenderKind, UnknownEventType, may_send, sender_rule, spec_for
from contracts.person import PersonId, redact_person_ids, refuse_person_id
from contracts.principals import PrincipalId, is_principal
from contracts.text import EARLIEST, UNSTORABLE, refuse_implausible_date, storable, unstorable_paths

MAX_EVENT_BYTES = 64 * 1024
MAX_DEAD_LETTER_BYTES = 64 * 1024
# An event is news from a journal: its time is no earlier than 1900, and no later than a clock
# running ahead allows. asyncpg stores year 1 as -infinity, which nothing can read back.
MAX_EVENT_TIME_AHEAD = timedelta(days=1)

M = TypeVar("M", bound=BaseModel)
PRINTABLE_ASCII = r"^[!-~]+$"
# Ids and sources land in Kafka records, the audit and URLs: never a personnummer in them.
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=PRINTABLE_ASCII), AfterValidator(refuse_person_id)]
Source = Annotated[
    str,
    Field(min_length=1, max_length=256, pattern=PRINTABLE_ASCII, description="a URI-reference, e.g. /journal"),
    AfterValidator(refuse_person_id),
]


def _plausible_event_time(time: datetime) -> datetime:
    refuse_implausible_date(time)
    latest = datetime.now(UTC) + MAX_EVENT_TIME_AHEAD
    if not EARLIEST <= time <= latest:
        raise ValueError(f"must be between {EARLIEST.date()} and one day from now")
    return time


EventTime = Annotated[AwareDatetime, AfterValidator(_plausible_event_time)]


class CloudEvent(BaseModel):
    """One event about one person. `subject` is the person; the record is never sent in binary
    mode, so it never becomes a header."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    subject: PersonId
    time: EventTime
    datacontenttype: Literal["application/json"] = "application/json"
    principal: PrincipalId
    category: Category
    data: dict[str, Any]

    @field_validator("data")
    @classmethod
    def _storable(cls, data: dict[str, Any]) -> dict[str, Any]:
        # parse_event names the field already; this guards events read back in other records
        if bad := next(unstorable_paths(data, "data"), None):
            raise ValueError(f"{bad} {UNSTORABLE}")
        return data

    def spec(self) -> EventSpec:
        return spec_for(self.type)

    def payload(self) -> BaseModel:
        return self.spec().payload.model_validate(self.data)

    @property
    def addressee(self) -> str | None:
        """The one principal an addressed event (a receipt) may go to; None for every other type."""
        return self.data.get("addressee") if self.spec().addressed else None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with an event: a dotted path ("data.substances.0") and what is wrong there."""

    field: str
    message: str

    def __iter__(self):  # dict(error) gives {"field": ..., "message": ...}
        yield "field", self.field
        yield "message", self.message


class InvalidEvent(ValueError):
    """The event cannot be accepted; `errors` name each field and what is wrong with it."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = [FieldError(_safe(e.field, 200), _safe(e.message, 500)) for e in errors]
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


def _safe(text: str, limit: int) -> str:
    """One line, storable UTF-8, bounded, and without anything that looks like a personnummer
    (valid or not, in any digits and spelling): never repeated back."""
    text = storable(redact_person_ids(" ".join(text.split())))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _invalid(field: str, message: str) -> InvalidEvent:
    return InvalidEvent([FieldError(field, message)])


def _field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    return [FieldError(_dotted(prefix, err["loc"]), err["msg"]) for err in exc.errors(include_url=False)]


def _dotted(prefix: str, loc: tuple[int | str, ...]) -> str:
    return ".".join([prefix, *map(str, loc)] if prefix else map(str, loc)) or "body"


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    first: dict[str, FieldError] = {}
    for error in errors:
        first.setdefault(error.field, error)
    return list(first.values())


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _as_object(raw: bytes | str | dict) -> dict:
    if isinstance(raw, dict):
        return dict(raw)
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > MAX_EVENT_BYTES:
        raise _invalid("body", f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise _invalid("body", "not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("body", "a CloudEvent must be a JSON object")
    return body


def _spec_of(body: dict) -> EventSpec:
    event_type = body.get("type")
    if event_type is None:
        raise _invalid("type", "required: a versioned event type such as se.samordna.region.visit.missed.v1")
    if not isinstance(event_type, str):
        raise _invalid("type", "must be a string such as se.samordna.region.visit.missed.v1")
    try:
        return spec_for(event_type)
    except UnknownEventType as exc:
        raise _invalid("type", str(exc)) from None


def _check_sender(spec: EventSpec, body: dict, sender: str | None) -> None:
    # A stored consent event names the principal that recorded the consent, not its sender.
    if sender is None and spec.sender is SenderKind.CONSENT:
        return
    if sender is not None and spec.sender is SenderKind.GATEWAY:
        raise _invalid("type", f"{spec.type} may not be posted: {sender_rule(spec)}")
    principal = sender if sender is not None else body.get("principal")
    if isinstance(principal, str) and is_principal(principal) and not may_send(spec, principal):
        raise _invalid("type", f"{spec.type} may not come from {principal}: {sender_rule(spec)}")


def _fill_principal(body: dict, sender: str | None) -> list[FieldError]:
    if sender is None:
        return []
    claimed = body.setdefault("principal", sender)
    if claimed == sender:
        return []
    return [FieldError("principal", f"the body names {_shown(claimed)} but the caller is {sender}")]


def _fill_category(body: dict, spec: EventSpec, sender: str | None) -> list[FieldError]:
    if sender is not None:
        body.setdefault("category", spec.category.value)
    if "category" not in body or body["category"] == spec.category:
        return []
    return [FieldError("category", f"{spec.type} is in category {spec.category}, not {_shown(body['category'])}")]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _validated(model: type[M], value: object, prefix: str = "") -> tuple[M | None, list[FieldError]]:
    try:
        return model.model_validate(value), []
    except ValidationError as exc:
        return None, _field_errors(exc, prefix)


def parse_event(raw: bytes | str | dict, *, sender: str | None = None) -> CloudEvent:
    """A validated, normalised event, or InvalidEvent naming every field that is wrong.

    `sender` is the authenticated caller at a gateway: it fills `principal` and `category`
    when they are left out, and must be allowed to send the type. Without it (a stored event
    read back) every field is required.
    """
    body = _as_object(raw)
    if unstorable := [FieldError(path, UNSTORABLE) for path in unstorable_paths(body)]:
        raise InvalidEvent(_first_per_field(unstorable))
    spec = _spec_of(body)
    _check_sender(spec, body, sender)
    errors = _fill_principal(body, sender) + _fill_category(body, spec, sender)
    event, envelope_errors = _validated(CloudEvent, body)
    data = body.get("data")
    # a missing or non-object `data` is already named by the envelope's own validation
    payload, payload_errors = _validated(spec.payload, data, "data") if isinstance(data, dict) else (None, [])
    errors = _first_per_field(errors + envelope_errors + payload_errors)
    if errors or event is None or payload is None:
        raise InvalidEvent(errors)
    return event.model_copy(update={"data": payload.model_dump(mode="json")})


# --- records on Samordna's own topics ---------------------------------------------------
class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ForwardedEvent(_Record):
    """On `shared.events`: an event that crossed the gate, and between whom."""

    event: CloudEvent
    parties: list[PrincipalId]
    consent_ids: list[str]
    decided_at: AwareDatetime


class GateDecision(_Record):
    """On `gate.decisions`: one decision of the gate. Never the payload."""

    decision_id: str
    event_id: str
    event_type: str
    category: Category
    sender: PrincipalId
    recipient: PrincipalId | None
    person_pseudonym: str
    forwarded: bool
    reason: str
    basis: Literal["consent", "statutory", "none"]
    consent_id: str | None
    legal_reference: str | None = None
    decided_at: AwareDatetime
    event_time: AwareDatetime


class DecisionBatch(_Record):
    """On `gate.decisions`: the decisions of one gate transaction, in the order they were made."""

    decisions: list[GateDecision] = Field(max_length=1000)


class DeadLetter(_Record):
    """On `dead.letters`: a record a consumer could not decode or validate, and why."""

    origin_topic: str
    origin_partition: int
    origin_offset: int
    consumer: str
    reason: str
    key: str | None
    value: str = Field(description="the raw record as UTF-8 text (undecodable bytes replaced), cut at 64 KiB")
    failed_at: AwareDatetime

    @field_validator("value", mode="before")
    @classmethod
    def _as_bounded_text(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.encode("utf-8", "replace")
        if isinstance(value, bytes | bytearray):
            # NUL replaced too: the gateway keeps dead letters in PostgreSQL, which cannot store it
            text = storable(bytes(value[:MAX_DEAD_LETTER_BYTES]).decode("utf-8", "replace"))
            # a replacement character is three bytes: cut again, so that reading it back changes nothing
            return text.encode()[:MAX_DEAD_LETTER_BYTES].decode("utf-8", "ignore")
        return value

    @field_validator("reason", "key", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        return storable(value) if isinstance(value, str) else value

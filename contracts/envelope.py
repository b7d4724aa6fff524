"""The CloudEvents 1.0 envelope (structured JSON mode) and the records Samordna puts on Kafka.

`parse_event` is the one way in, at the HTTP edge and in every consumer alike.
"""

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from contracts.catalogue import Category, EventSpec, UnknownEventType, may_send, spec_for
from contracts.person import PersonId
from contracts.principals import PrincipalId

MAX_EVENT_BYTES = 64 * 1024

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[!-~]+$")]


class CloudEvent(BaseModel):
    """One event about one person. `subject` is the person; the record is never sent in binary
    mode, so it never becomes a header."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"]
    id: EventId
    source: Annotated[str, Field(min_length=1, max_length=256)]
    type: str
    subject: PersonId
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    principal: PrincipalId
    category: Category
    data: dict[str, Any]

    def spec(self) -> EventSpec:
        return spec_for(self.type)

    def payload(self) -> BaseModel:
        return self.spec().payload.model_validate(self.data)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __iter__(self):  # dict(error) gives {"field": ..., "message": ...}
        yield "field", self.field
        yield "message", self.message


class InvalidEvent(ValueError):
    """The event cannot be accepted; `errors` name each field and what is wrong with it."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


def _invalid(field: str, message: str) -> InvalidEvent:
    return InvalidEvent([FieldError(field, message)])


def _field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    return [
        FieldError(prefix + ".".join(str(part) for part in err["loc"]) or "body", err["msg"]) for err in exc.errors()
    ]


def _as_object(raw: bytes | str | dict) -> dict:
    if isinstance(raw, dict):
        return dict(raw)
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > MAX_EVENT_BYTES:
        raise _invalid("body", f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _invalid("body", "not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("body", "a CloudEvent must be a JSON object")
    return body


def _check_type(body: dict, sender: str | None) -> EventSpec:
    event_type = body.get("type")
    if not isinstance(event_type, str):
        raise _invalid("type", "required: a versioned event type such as se.samordna.region.visit.missed.v1")
    try:
        spec = spec_for(event_type)
    except UnknownEventType as exc:
        raise _invalid("type", str(exc)) from None
    if sender is not None and not may_send(spec, sender):
        raise _invalid("type", f"{event_type} is not an event {sender} may send")
    return spec


def _fill_sender_and_category(body: dict, spec: EventSpec, sender: str | None) -> None:
    if sender is not None:
        claimed = body.setdefault("principal", sender)
        if claimed != sender:
            raise _invalid("principal", f"the body names {claimed} but the caller is {sender}")
        body.setdefault("category", spec.category.value)
    if body.get("category") != spec.category:
        raise _invalid("category", f"{spec.type} belongs to category {spec.category}")


def parse_event(raw: bytes | str | dict, *, sender: str | None = None) -> CloudEvent:
    """A validated, normalised event, or InvalidEvent naming every field that is wrong.

    `sender` is the authenticated caller at a gateway: it fills `principal` and must be
    allowed to send the type. Without it (a stored event read back) every field is required.
    """
    body = _as_object(raw)
    spec = _check_type(body, sender)
    _fill_sender_and_category(body, spec, sender)
    errors: list[FieldError] = []
    try:
        event = CloudEvent.model_validate(body)
    except ValidationError as exc:
        errors += _field_errors(exc)
        event = None
    try:
        payload = spec.payload.model_validate(body.get("data"))
    except ValidationError as exc:
        errors += _field_errors(exc, prefix="data.")
    if errors:
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


class DeadLetter(_Record):
    """On `dead.letters`: a record a consumer could not decode or validate, and why."""

    origin_topic: str
    origin_partition: int
    origin_offset: int
    consumer: str
    reason: str
    key: str | None
    value: str
    failed_at: AwareDatetime

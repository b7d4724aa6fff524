"""What the services share: the event envelope, the catalogue, topic names and principal ids."""

from contracts.catalogue import CATALOGUE, Category, EventSpec, SenderKind, UnknownEventType, spec_for
from contracts.envelope import (
    MAX_EVENT_BYTES,
    CloudEvent,
    DeadLetter,
    DecisionBatch,
    FieldError,
    ForwardedEvent,
    GateDecision,
    InvalidEvent,
    parse_event,
)
from contracts.person import PersonId, normalize_person_id

__all__ = [
    "CATALOGUE",
    "MAX_EVENT_BYTES",
    "Category",
    "CloudEvent",
    "DeadLetter",
    "DecisionBatch",
    "EventSpec",
    "FieldError",
    "ForwardedEvent",
    "GateDecision",
    "InvalidEvent",
    "PersonId",
    "SenderKind",
    "UnknownEventType",
    "normalize_person_id",
    "parse_event",
    "spec_for",
]

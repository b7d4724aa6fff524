"""What the gateway's routes answer, as models for the OpenAPI document, and the body of
`POST /v1/events`: one schema per event type the principal may send.

Times are ISO 8601 strings as the routes write them (`datetime.isoformat()`), not re-parsed.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from contracts.catalogue import CATALOGUE, SenderKind, may_send
from contracts.envelope import CloudEvent

IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Cursor = Annotated[str, Field(pattern=r"^\d+$", description="pass back as `after` for the next page")]

_ENVELOPE = CloudEvent.model_json_schema()
# An event as delivered: the envelope's members, each as the envelope says; its payload as its type says.
DELIVERED_EVENT_SCHEMA = {
    "type": "object",
    "description": "a CloudEvent 1.0 in structured JSON mode, as the gate forwarded it",
    "required": ["specversion", "id", "source", "type", "subject", "time", "principal", "category", "data"],
    "properties": {
        name: {"type": "object"} if name == "data" else {"type": "string"} for name in _ENVELOPE["properties"]
    },
}
DeliveredEvent = Annotated[dict[str, Any], WithJsonSchema(DELIVERED_EVENT_SCHEMA)]


class EventAccepted(BaseModel):
    id: str
    accepted_at: IsoTime


class InboxEntry(BaseModel):
    seq: int = Field(description="the inbox's own gapless number: the cursor")
    delivery_seq: int = Field(description="the gate's delivery number, as on Kafka")
    received_at: IsoTime
    receipt_due_at: IsoTime | None
    acknowledged_at: IsoTime | None
    event: DeliveredEvent


class Inbox(BaseModel):
    events: list[InboxEntry]
    next_cursor: Cursor


class LatestInbox(BaseModel):
    events: list[InboxEntry]


class Receipt(BaseModel):
    event_id: str
    sender: str
    receipt_id: str
    acknowledged_at: IsoTime


class DeadLetter(BaseModel):
    id: int
    origin_topic: str
    origin_partition: int
    origin_offset: int
    consumer: str
    reason: str
    kafka_key: str | None
    value: str = Field(description="the record's value as it was, decoded as UTF-8 with replacements")
    failed_at: IsoTime
    replayed_at: IsoTime | None


class DeadLetters(BaseModel):
    dead_letters: list[DeadLetter]
    next_cursor: Cursor


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    created_at: IsoTime


class DeliveryCounts(BaseModel):
    pending: int
    delivered: int
    parked: int


class SubscriptionWithCounts(SubscriptionOut):
    counts: DeliveryCounts


class Subscriptions(BaseModel):
    subscriptions: list[SubscriptionOut]


class Delivery(BaseModel):
    seq: int
    event_id: str
    event_type: str
    status: Literal["pending", "delivered", "parked"]
    attempts: int
    last_error: str | None
    next_attempt_at: IsoTime | None
    delivered_at: IsoTime | None


class Deliveries(BaseModel):
    deliveries: list[Delivery]
    next_cursor: Cursor


class Resent(BaseModel):
    resent: int


def event_request_body(principal: str) -> dict:
    """`openapi_extra` of `POST /v1/events`: a oneOf of the catalogue types `principal` may post,
    told apart by `type`, each with its payload's schema. The gateway reads the body itself (to
    refuse what is too large before parsing it), so FastAPI cannot describe it."""
    variants, mapping, defs = [], {}, {}
    for spec in CATALOGUE.values():
        if spec.sender is SenderKind.GATEWAY or not may_send(spec, principal):
            continue
        name = "Event_" + spec.type.replace(".", "_")
        payload = spec.payload.model_json_schema(ref_template="#/components/schemas/{model}")
        defs.update(payload.pop("$defs", {}))
        schema = _envelope_of(spec.type, spec.category.value, payload)
        defs[name] = schema
        variants.append({"$ref": f"#/components/schemas/{name}"})
        mapping[spec.type] = f"#/components/schemas/{name}"
    return {
        "requestBody": {
            "required": True,
            "description": "one event, at most 64 KiB; principal and category are set by the gateway when left out",
            "content": {
                "application/json": {
                    "schema": {"oneOf": variants, "discriminator": {"propertyName": "type", "mapping": mapping}}
                },
                "application/cloudevents+json": {"schema": {"oneOf": variants}},
            },
        },
        "x-component-schemas": defs,
    }


def _envelope_of(event_type: str, category: str, payload: dict) -> dict:
    properties = {name: dict(schema) for name, schema in _ENVELOPE["properties"].items()}
    properties["type"] = {"type": "string", "const": event_type}
    properties["category"] = {"type": "string", "const": category}
    properties["data"] = payload
    return {
        "title": event_type,
        "type": "object",
        "additionalProperties": False,
        "required": ["specversion", "id", "source", "type", "subject", "time", "data"],
        "properties": properties,
    }

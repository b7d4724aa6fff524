"""FHIR R4 resources of a gateway, as pure functions: a delivered event as a `Communication`, a
topic-based `Subscription` (the R5 Subscriptions backport for R4), and the notification
`Bundle`s with their `SubscriptionStatus` (a `Parameters` in R4).

The profile choices are in docs/integration.md#fhir. Nothing here reads a clock, a database or
a socket: the store and the worker pass in what they hold.
"""

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contracts import CATALOGUE
from contracts.fhir import CATEGORY, EVENT_TYPE, PRINCIPAL, SAMORDNA, person_identifier
from contracts.principals import display_name

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
SUBSCRIPTION_PROFILE = BACKPORT + "backport-subscription"
STATUS_PROFILE = BACKPORT + "backport-subscription-status-r4"
NOTIFICATION_PROFILE = BACKPORT + "backport-subscription-notification-r4"
PAYLOAD_CONTENT = BACKPORT + "backport-payload-content"
HEARTBEAT_PERIOD = BACKPORT + "backport-heartbeat-period"
FILTER_CRITERIA = BACKPORT + "backport-filter-criteria"
SECRET_EXTENSION = f"{SAMORDNA}/StructureDefinition/webhook-secret"
EVENT_ID = f"{SAMORDNA}/identifier/event"
DELIVERY_NUMBER = f"{SAMORDNA}/identifier/delivery-number"
CLOUDEVENTS_JSON = "application/cloudevents+json"

Content = str  # "empty" | "id-only" | "full-resource"
NotificationType = str  # "handshake" | "heartbeat" | "event-notification" | "query-status" | "query-event"


@dataclass(frozen=True)
class FhirSubscription:
    """A FHIR subscription as the gateway keeps it (tables webhook_subscriptions and fhir_subscriptions)."""

    id: uuid.UUID
    topic: str
    endpoint: str
    content: Content
    headers: tuple[str, ...]
    heartbeat_seconds: int | None
    status: str  # requested | active | error | off
    error: str | None
    reason: str
    end: datetime | None
    events_since_start: int  # events queued for it so far: the last event-number


@dataclass(frozen=True)
class Notified:
    """One event of a notification: its number in the subscription and the inbox row it is."""

    event_number: int
    seq: int  # inbox.seq, the Communication's id
    delivery_seq: int | None  # the gate's number for this recipient
    received_at: datetime
    event: str  # the CloudEvent as delivered (JSON)


def subscription_url(base: str, subscription_id: uuid.UUID) -> str:
    return f"{base}/Subscription/{subscription_id}"


def communication_url(base: str, seq: int) -> str:
    return f"{base}/Communication/{seq}"


def communication(principal: str, item: Notified) -> dict:
    """A delivered event as a Communication from its sender to this principal: the person by
    their HL7 Sweden identifier, the category and event type as codes, the CloudEvent itself as
    the payload (base64 of the JSON, byte for byte as delivered)."""
    event = json.loads(item.event)
    spec = CATALOGUE.get(event["type"])
    identifiers = [{"system": f"{EVENT_ID}/{event['principal']}", "value": event["id"]}]
    if item.delivery_seq is not None:
        identifiers.append({"system": f"{DELIVERY_NUMBER}/{principal}", "value": str(item.delivery_seq)})
    return {
        "resourceType": "Communication",
        "id": str(item.seq),
        "identifier": identifiers,
        "status": "completed",
        "category": [_concept(CATEGORY, event["category"], event["category"])],
        "topic": _concept(EVENT_TYPE, event["type"], spec.label_sv if spec else event["type"]),
        "subject": {"identifier": person_identifier(event["subject"])},
        "sent": event["time"],
        "received": item.received_at.isoformat(),
        "sender": _organization(event["principal"]),
        "recipient": [_organization(principal)],
        "payload": [
            {
                "contentAttachment": {
                    "contentType": CLOUDEVENTS_JSON,
                    "data": base64.b64encode(item.event.encode()).decode("ascii"),
                }
            }
        ],
    }


def subscription_resource(sub: FhirSubscription, base: str) -> dict:
    """The subscription as an R4 Subscription with the backport's extensions (never the secret)."""
    channel: dict = {
        "type": "rest-hook",
        "endpoint": sub.endpoint,
        "payload": "application/fhir+json",
        "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": sub.content}]},
    }
    if sub.headers:
        channel["header"] = list(sub.headers)
    if sub.heartbeat_seconds:
        channel["extension"] = [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": sub.heartbeat_seconds}]
    resource = {
        "resourceType": "Subscription",
        "id": str(sub.id),
        "meta": {"profile": [SUBSCRIPTION_PROFILE]},
        "status": sub.status,
        "reason": sub.reason,
        "criteria": sub.topic,
        "channel": channel,
    }
    if sub.end is not None:
        resource["end"] = sub.end.isoformat()
    if sub.error:
        resource["error"] = sub.error
    return resource


def subscription_status(
    sub: FhirSubscription,
    base: str,
    kind: NotificationType,
    events: Sequence[Notified],
    content: Content,
    status_id: uuid.UUID,
) -> dict:
    """The SubscriptionStatus of a notification (R4: a Parameters of the backport's profile)."""
    parameters = [
        {"name": "subscription", "valueReference": {"reference": subscription_url(base, sub.id)}},
        {"name": "topic", "valueCanonical": sub.topic},
        {"name": "status", "valueCode": sub.status},
        {"name": "type", "valueCode": kind},
        {"name": "events-since-subscription-start", "valueString": str(sub.events_since_start)},
    ]
    for item in events:
        parts = [
            {"name": "event-number", "valueString": str(item.event_number)},
            {"name": "timestamp", "valueInstant": item.received_at.isoformat()},
        ]
        if content != "empty":
            parts.append({"name": "focus", "valueReference": {"reference": communication_url(base, item.seq)}})
        parameters.append({"name": "notification-event", "part": parts})
    if sub.error:
        parameters.append({"name": "error", "valueCodeableConcept": {"text": sub.error}})
    return {
        "resourceType": "Parameters",
        "id": str(status_id),
        "meta": {"profile": [STATUS_PROFILE]},
        "parameter": parameters,
    }


def notification_bundle(
    sub: FhirSubscription,
    base: str,
    principal: str,
    kind: NotificationType,
    at: datetime,
    events: Sequence[Notified] = (),
    content: Content | None = None,
) -> dict:
    """A notification (a history Bundle, the backport's R4 profile): the status first, then,
    for full-resource content, each event as a Communication. An event notification's id is
    derived from the events it carries, so a retried delivery is the same bundle; a handshake's
    or heartbeat's from the moment `at` it is sent."""
    content = content or sub.content
    tag = ",".join(str(e.event_number) for e in events) if events else at.isoformat()
    status_id = uuid.uuid5(sub.id, f"{kind}/{tag}/status")
    entries = [
        {
            "fullUrl": f"urn:uuid:{status_id}",
            "resource": subscription_status(sub, base, kind, events, content, status_id),
            "request": {"method": "GET", "url": f"{subscription_url(base, sub.id)}/$status"},
            "response": {"status": "200"},
        }
    ]
    if content == "full-resource":
        entries += [
            {
                "fullUrl": communication_url(base, item.seq),
                "resource": communication(principal, item),
                "request": {"method": "POST", "url": "Communication"},
                "response": {"status": "201"},
            }
            for item in events
        ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(sub.id, f"{kind}/{tag}/bundle")),
        "meta": {"profile": [NOTIFICATION_PROFILE]},
        "type": "history",
        "timestamp": (max(e.received_at for e in events) if events else at).isoformat(),
        "entry": entries,
    }


def status_bundle(sub: FhirSubscription, base: str) -> dict:
    """What $status answers: a searchset holding the subscription's current status."""
    status_id = uuid.uuid5(sub.id, f"query-status/{sub.status}/{sub.events_since_start}")
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "entry": [
            {
                "fullUrl": f"urn:uuid:{status_id}",
                "resource": subscription_status(sub, base, "query-status", (), sub.content, status_id),
                "search": {"mode": "match"},
            }
        ],
    }


def searchset(resources: Sequence[dict], base: str) -> dict:
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _organization(principal: str) -> dict:
    return {"identifier": {"system": PRINCIPAL, "value": principal}, "display": display_name(principal)}


def _concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}

"""A partner system's Subscription resource, read into what the gateway keeps, or refused with
every problem named by its FHIRPath (`Subscription.channel.endpoint`) and never its value."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from contracts.envelope import FieldError
from contracts.fhir import topic_event_types
from contracts.person import contains_person_id
from contracts.text import unstorable_paths
from services.gateway.fhir.resources import FILTER_CRITERIA, HEARTBEAT_PERIOD, PAYLOAD_CONTENT, SECRET_EXTENSION

CONTENTS = ("empty", "id-only", "full-resource")
MAX_HEADERS = 10
MAX_HEARTBEAT_SECONDS = 86_400
# Headers the gateway sets itself on every notification; a subscription cannot replace them.
_RESERVED_HEADERS = {"content-type", "content-length", "host", "transfer-encoding"}


class SubscriptionRefused(ValueError):
    """The Subscription resource cannot be taken; `errors` names each problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("the Subscription is not valid: " + ", ".join(e.field for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class NewFhirSubscription:
    topic: str
    event_types: list[str]
    endpoint: str
    content: str
    headers: tuple[str, ...]
    heartbeat_seconds: int | None
    reason: str
    end: datetime | None
    secret: str


def read_subscription(resource: object, production: bool) -> NewFhirSubscription:
    """The subscription a partner asks for, or SubscriptionRefused naming every problem."""
    errors: list[FieldError] = []

    def refuse(path: str, message: str) -> None:
        errors.append(FieldError(f"Subscription.{path}" if path else "Subscription", message))

    if not isinstance(resource, dict) or resource.get("resourceType") != "Subscription":
        raise SubscriptionRefused([FieldError("Subscription", "the body must be a FHIR Subscription resource")])
    if bad := next(unstorable_paths(resource, "Subscription"), None):
        raise SubscriptionRefused([FieldError(bad, "holds characters that cannot be stored")])
    if resource.get("status", "requested") not in ("requested", "active"):
        refuse("status", "a new subscription is requested (or active)")
    reason = resource.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
        refuse("reason", "a reason of 1 to 500 characters is required")
    elif contains_person_id(reason):
        refuse("reason", "must not hold a personnummer")
    topic, event_types = _topic(resource, refuse)
    channel = resource.get("channel")
    if not isinstance(channel, dict):
        refuse("channel", "a rest-hook channel is required")
        channel = {}
    if channel.get("type") != "rest-hook":
        refuse("channel.type", "only rest-hook is offered")
    endpoint = _endpoint(channel.get("endpoint"), production, refuse)
    if channel.get("payload", "application/fhir+json") != "application/fhir+json":
        refuse("channel.payload", "notifications are application/fhir+json")
    content = _extension_value(channel.get("_payload"), PAYLOAD_CONTENT, "valueCode") or "id-only"
    if content not in CONTENTS:
        refuse("channel.payload.extension", f"payload content is one of {', '.join(CONTENTS)}")
    headers = _headers(channel.get("header", []), refuse)
    heartbeat = _extension_value(channel, HEARTBEAT_PERIOD, "valueUnsignedInt")
    if heartbeat is not None and (not isinstance(heartbeat, int) or not 1 <= heartbeat <= MAX_HEARTBEAT_SECONDS):
        refuse("channel.extension", f"the heartbeat period is 1 to {MAX_HEARTBEAT_SECONDS} seconds")
    end = _end(resource.get("end"), refuse)
    secret = _extension_value(resource, SECRET_EXTENSION, "valueString")
    if secret is not None and (not isinstance(secret, str) or not 16 <= len(secret) <= 256):
        refuse("extension", "the webhook secret is 16 to 256 characters")
    if errors:
        raise SubscriptionRefused(errors)
    return NewFhirSubscription(
        topic=topic,
        event_types=event_types,
        endpoint=endpoint,
        content=content,
        headers=headers,
        heartbeat_seconds=heartbeat,
        reason=reason,
        end=end,
        # without a secret of its own the receiver authenticates notifications by channel.header
        secret=secret or secrets.token_urlsafe(32),
    )


def _topic(resource: dict, refuse) -> tuple[str, list[str]]:
    criteria = resource.get("criteria")
    if not isinstance(criteria, str):
        refuse("criteria", "the topic's canonical URL is required")
        return "", []
    if _extension_value(resource.get("_criteria"), FILTER_CRITERIA, "valueString") is not None:
        refuse("criteria.extension", "filters are not offered: choose a topic per category or event type")
    try:
        return criteria, topic_event_types(criteria)
    except ValueError as exc:
        refuse("criteria", str(exc))
        return "", []


def _endpoint(endpoint: object, production: bool, refuse) -> str:
    if not isinstance(endpoint, str) or len(endpoint) > 2048:
        refuse("channel.endpoint", "an absolute http(s) URL of at most 2048 characters is required")
        return ""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        refuse("channel.endpoint", "must be an absolute http or https URL")
    elif production and parts.scheme != "https":
        refuse("channel.endpoint", "must be https outside development")
    elif contains_person_id(endpoint):
        refuse("channel.endpoint", "must not hold a personnummer")
    return endpoint


def _headers(headers: object, refuse) -> tuple[str, ...]:
    if not isinstance(headers, list) or len(headers) > MAX_HEADERS:
        refuse("channel.header", f"at most {MAX_HEADERS} headers, each 'Name: value'")
        return ()
    taken = []
    for index, header in enumerate(headers):
        name, colon, value = header.partition(":") if isinstance(header, str) else ("", "", "")
        name = name.strip()
        if not colon or not name or not name.isascii() or not all(c.isalnum() or c in "-_" for c in name):
            refuse(f"channel.header[{index}]", "a header is 'Name: value'")
        elif not value.strip() or len(header) > 1024 or not value.isprintable():
            refuse(f"channel.header[{index}]", "a header value is printable and at most 1024 characters")
        elif name.lower() in _RESERVED_HEADERS or name.lower().startswith("samordna-"):
            refuse(f"channel.header[{index}]", "this header is set by the gateway")
        else:
            taken.append(f"{name}: {value.strip()}")
    return tuple(taken)


def _end(end: object, refuse) -> datetime | None:
    if end is None:
        return None
    try:
        moment = datetime.fromisoformat(end) if isinstance(end, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        refuse("end", "an instant with a time zone")
        return None
    return moment


def _extension_value(element: object, url: str, key: str) -> object | None:
    if not isinstance(element, dict):
        return None
    for extension in element.get("extension", []) if isinstance(element.get("extension"), list) else []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension.get(key)
    return None

"""Reading a Kafka record as a strict CloudEvents receiver does, with the official SDK.

The Kafka protocol binding (section 3.1) decides the mode by the `content-type` header alone: a
value beginning `application/cloudevents` is structured mode, anything else (or no header) is
binary mode, whose attributes must be in `ce_` headers. No guessing from the value.
"""

from collections.abc import Iterable

from cloudevents.abstract import AnyCloudEvent
from cloudevents.kafka import KafkaMessage, from_binary, from_structured

STRUCTURED = "application/cloudevents+json"
REQUIRED = ("specversion", "id", "source", "type")


class NotACloudEvent(AssertionError):
    """The record breaks the binding (the SDK's own error is the cause)."""


def read_cloudevent(headers: Iterable[tuple[str, bytes]], key: bytes | None, value: bytes) -> AnyCloudEvent:
    pairs = list(headers or ())
    names = [name.lower() for name, _ in pairs]
    if len(names) != len(set(names)):
        raise NotACloudEvent(f"a header appears twice: {names}")
    as_dict = {name: bytes(raw) for name, raw in pairs}
    content_type = as_dict.get("content-type", b"").decode()
    message = KafkaMessage(as_dict, key, value)
    try:
        if content_type.startswith("application/cloudevents"):
            if content_type != STRUCTURED:
                raise NotACloudEvent(f"structured mode in {content_type!r}, not JSON")
            if any(name.startswith("ce_") for name in names):
                raise NotACloudEvent("ce_ headers on a structured-mode record")
            event = from_structured(message)
        else:
            # the SDK would make up a missing id and time: the binding requires them sent
            if missing := [a for a in REQUIRED if f"ce_{a}" not in as_dict]:
                raise NotACloudEvent(f"binary mode without {', '.join('ce_' + a for a in missing)}")
            event = from_binary(message)
    except NotACloudEvent:
        raise
    except Exception as exc:
        raise NotACloudEvent(f"{type(exc).__name__}: {exc}") from exc
    for required in REQUIRED:
        if not event.get(required):
            raise NotACloudEvent(f"no {required}")
    if event["specversion"] != "1.0":
        raise NotACloudEvent(f"specversion {event['specversion']!r}")
    return event


def mode_of(headers: Iterable[tuple[str, bytes]]) -> str:
    content_type = dict(headers or ()).get("content-type", b"").decode()
    return "structured" if content_type.startswith("application/cloudevents") else "binary"

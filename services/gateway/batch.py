"""`POST /v1/events:batch`: many events in one request, an answer per event by its index.

The request as a whole is refused only when it cannot be read as a batch (not JSON, no `events`
list, an item that is no JSON object: 422) or is too big (over MAX_BATCH_EVENTS events or
MAX_BATCH_BYTES bytes: 413). Each event is then read exactly as `POST /v1/events` reads one
(`read_event`) and refused or accepted on its own; the refusal is the problem details the single
endpoint would answer.
"""

import json
from dataclasses import dataclass

from contracts import MAX_EVENT_BYTES, CloudEvent
from contracts.envelope import FieldError
from services.gateway.errors import EventIdConflict, EventRefused, EventTooLarge, InvalidEvent
from services.gateway.intake import read_event
from services.gateway.outbox import MAX_GROUP, Accepted
from services.runtime.problems import Answer, Problem, problem_body, problem_of

MAX_BATCH_EVENTS = MAX_GROUP
MAX_BATCH_BYTES = 4 * 1024 * 1024

# How a refused event is answered, alone (services/gateway/app.py) or in a batch.
EVENT_ANSWERS = {
    InvalidEvent: Answer(422, "invalid-event"),  # names every field that is wrong
    EventTooLarge: Answer(413, "event-too-large", field="body"),
    EventIdConflict: Answer(409, "event-id-conflict", field="id"),
}


class BatchTooLarge(Problem):
    status = 413

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(detail, [FieldError(field, detail)], slug="batch-too-large")


class UnreadableBatch(Problem):
    status = 422

    def __init__(self, detail: str, field: str = "events") -> None:
        super().__init__(detail, [FieldError(field, detail)], slug="invalid-batch")


@dataclass(frozen=True)
class Item:
    """One position of a batch: the event read from it, or why it was refused."""

    index: int
    event: CloudEvent | None = None
    refused: EventRefused | None = None


def _no_constants(name: str):
    raise ValueError(f"{name} is not JSON")


def read_batch(raw: bytes, sender: str) -> list[Item]:
    """The batch's items, each an event or its refusal; a Problem if it is no batch at all."""
    if len(raw) > MAX_BATCH_BYTES:
        raise BatchTooLarge(f"the batch is {len(raw)} bytes; the limit is {MAX_BATCH_BYTES}", "body")
    try:
        body = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise UnreadableBatch("the body is not valid JSON") from None
    if not isinstance(body, dict) or set(body) != {"events"} or not isinstance(body["events"], list):
        raise UnreadableBatch('the body must be {"events": [...]}, a JSON object with a list of events only')
    events = body["events"]
    if not events:
        raise UnreadableBatch("the batch holds no events")
    if len(events) > MAX_BATCH_EVENTS:
        raise BatchTooLarge(f"the batch holds {len(events)} events; the limit is {MAX_BATCH_EVENTS}", "events")
    # the list's shape is the batch's (its OpenAPI schema): what is no object at all is no event
    if not_objects := [index for index, value in enumerate(events) if not isinstance(value, dict)]:
        raise UnreadableBatch("every event must be a JSON object", f"events.{not_objects[0]}")
    return [_item(index, value, sender) for index, value in enumerate(events)]


def _item(index: int, value: object, sender: str) -> Item:
    raw = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    try:
        if len(raw) > MAX_EVENT_BYTES:
            raise EventTooLarge(len(raw), MAX_EVENT_BYTES)
        return Item(index, event=read_event(raw, sender))
    except EventRefused as exc:
        return Item(index, refused=exc)


def refusal(exc: EventRefused) -> dict:
    """The problem details the single endpoint answers for the same refusal."""
    return problem_body(problem_of(EVENT_ANSWERS[type(exc)], exc))


def results(items: list[Item], answers: list[Accepted | EventIdConflict]) -> list[dict]:
    """An answer per item in index order; `answers` are the outbox's, for the items with an event."""
    stored = iter(answers)
    out = []
    for item in items:
        outcome = item.refused if item.event is None else next(stored)
        if isinstance(outcome, Accepted):
            out.append({
                "index": item.index, "status": 202, "id": outcome.id, "accepted_at": outcome.accepted_at.isoformat()
            })  # fmt: skip
        else:
            problem = refusal(outcome)
            out.append({"index": item.index, "status": problem["status"], "problem": problem})
    return out
